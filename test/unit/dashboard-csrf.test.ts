import { HttpServerRequest, UrlParams } from "@effect/platform"
import { Effect } from "effect"
import { assert, describe, it } from "vitest"
import { makeCsrf } from "../../src/dashboard/csrf.js"
import { readForm } from "../../src/dashboard/form.js"

const secret = "a secret of at least 16 characters"

describe("dashboard CSRF tokens", () => {
  it("issues tokens that are valid for the key that signed them only", () => {
    const csrf = makeCsrf(secret)
    const token = csrf.issue()
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
    assert.isTrue(csrf.isValid(token))
    assert.isTrue(makeCsrf(secret).isValid(token)) // another instance with the same key
    assert.isFalse(makeCsrf("another secret, just as long").isValid(token))
    assert.isFalse(makeCsrf(undefined).isValid(token)) // a random key
    assert.notStrictEqual(csrf.issue(), token)
  })

  it("refuses a missing, malformed or tampered token", () => {
    const csrf = makeCsrf(secret)
    const [nonce, signature] = csrf.issue().split(".")
    for (
      const token of [
        undefined,
        "",
        nonce,
        `${nonce}.`,
        `.${signature}`,
        `${nonce}.${signature}.extra`,
        `${nonce}x.${signature}`,
        `${nonce}.${signature.slice(0, -1)}`,
        "abc.def"
      ]
    ) {
      assert.isFalse(csrf.isValid(token), String(token))
    }
  })

  it("verifies a form only when it echoes the cookie's own valid token", () => {
    const csrf = makeCsrf(secret)
    const token = csrf.issue()
    const other = csrf.issue()
    assert.isTrue(csrf.verify(token, token))
    assert.isFalse(csrf.verify(token, undefined))
    assert.isFalse(csrf.verify(token, other)) // valid, but not this cookie's
    assert.isFalse(csrf.verify(undefined, token))
    assert.isFalse(csrf.verify("abc.def", "abc.def")) // echoed, but never signed
  })
})

const request = (body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
  HttpServerRequest.fromWeb(
    new Request("http://dashboard.test/queues/pause", {
      method: "POST",
      body,
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      duplex: "half"
    } as RequestInit)
  )

describe("dashboard form bodies", () => {
  it("reads a form within the limit", async () => {
    const body = await Effect.runPromise(readForm(request("_csrf=t&queue=mail&queue=other"), 1024))
    assert.strictEqual(body._tag, "Form")
    if (body._tag === "Form") {
      assert.deepStrictEqual(UrlParams.getAll(body.params, "queue"), ["mail", "other"])
    }
  })

  it("refuses a declared length over the limit without reading, and gives up on a longer body", async () => {
    let pulled = 0
    const endless = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        pulled += 1
        controller.enqueue(new Uint8Array(512).fill(120))
      }
    }, { highWaterMark: 0 })
    assert.deepStrictEqual(await Effect.runPromise(readForm(request(endless, { "content-length": "2048" }), 1024)), {
      _tag: "TooLarge"
    })
    assert.strictEqual(pulled, 0)
    assert.deepStrictEqual(await Effect.runPromise(readForm(request(endless), 1024)), { _tag: "TooLarge" })
    assert.isBelow(pulled, 5)
  })
})
