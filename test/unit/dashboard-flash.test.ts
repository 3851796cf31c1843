import { Option } from "effect"
import { assert, describe, it } from "vitest"
import { decodeFlash, encodeFlash, type Flash } from "../../src/dashboard/flash.js"
import { safeReturn, sameOrigin } from "../../src/dashboard/paths.js"

const cookie = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

describe("dashboard flash cookie", () => {
  it("decodes what it encoded, markup and all (escaping is the page's job)", () => {
    for (
      const flash of [
        { kind: "notice", message: "Retried 3 jobs" },
        { kind: "error", message: "job 7 is ready, not failed" },
        { kind: "notice", message: "<script>\"quoted\" ünïcode;=,</script>" }
      ] satisfies ReadonlyArray<Flash>
    ) {
      const encoded = encodeFlash(flash)
      assert.match(encoded, /^[A-Za-z0-9_-]*$/) // a valid cookie value as it is
      assert.deepStrictEqual(decodeFlash(encoded), Option.some(flash))
    }
  })

  it("takes anything else as no message", () => {
    for (
      const value of [
        undefined,
        "",
        "not base64 at all!",
        cookie(null),
        cookie("a string"),
        cookie({ kind: "warning", message: "x" }),
        cookie({ kind: "notice", message: 42 }),
        cookie({ kind: "notice" }),
        encodeFlash({ kind: "notice", message: "cut short" }).slice(0, 10)
      ]
    ) {
      assert.isTrue(Option.isNone(decodeFlash(value)), String(value))
    }
  })

  it("keeps only the message and its kind", () => {
    assert.deepStrictEqual(
      decodeFlash(cookie({ kind: "error", message: "m", extra: "<b>" })),
      Option.some({ kind: "error", message: "m" })
    )
  })
})

describe("dashboard return addresses", () => {
  it("keeps a path and query inside the dashboard, normalised", () => {
    assert.strictEqual(safeReturn("/jobs?state=failed&queue=mail"), "/jobs?state=failed&queue=mail")
    assert.strictEqual(safeReturn("/jobs/../../processes?x=1"), "/processes?x=1")
    assert.strictEqual(safeReturn("/"), "/")
  })

  it("sends anything that could leave it to the dashboard's home", () => {
    for (
      const path of [
        undefined,
        "",
        "jobs",
        "https://evil.example/",
        "//evil.example/",
        "/.//evil.example",
        "/a/..//evil.example",
        "/%2e%2e//evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/jobs\r\nSet-Cookie: x=1"
      ]
    ) {
      const target = safeReturn(path)
      assert.match(target, /^\/(?![/\\])/, String(path))
      assert.strictEqual(new URL(target, "https://dashboard.test/").host, "dashboard.test", String(path))
    }
  })

  it("never lets a Location start with two slashes, whatever the mount path made of it", () => {
    assert.strictEqual(sameOrigin("/admin/jobs?x=1"), "/admin/jobs?x=1")
    assert.strictEqual(sameOrigin("//evil.example/"), "/")
    assert.strictEqual(sameOrigin("/\\evil.example"), "/")
    assert.strictEqual(sameOrigin("evil.example"), "/")
  })
})
