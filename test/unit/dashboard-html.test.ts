import { assert, describe, it } from "vitest"
import { escape, html, raw } from "../../src/dashboard/html.js"

describe("dashboard html", () => {
  it("escapes the characters that open markup, attributes or template literals", () => {
    assert.strictEqual(escape(`<a href="x" title='y'>&\`</a>`), "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;")
    assert.strictEqual(escape("plain text, ünïcode"), "plain text, ünïcode")
    // Escaping twice shows the first escape as text, as it should.
    assert.strictEqual(escape("&lt;"), "&amp;lt;")
  })

  it("escapes every interpolated value, at any depth, unless it is already Html", () => {
    const evil = "<script>alert('x')</script>"
    const page = html`<p title="${evil}">${evil}</p>${[evil, [html`<b>${evil}</b>`]]}`
    assert.notInclude(page.value, "<script")
    assert.strictEqual(
      page.value,
      "<p title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>" +
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;<b>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</b>"
    )
  })

  it("renders nothing for null, undefined and false, and numbers and true as text", () => {
    assert.strictEqual(html`[${null}${undefined}${false}]`.value, "[]")
    assert.strictEqual(html`${0} ${1.5} ${true}`.value, "0 1.5 true")
  })

  it("keeps raw markup as written, and an Html value prints as its markup", () => {
    assert.strictEqual(html`<div>${raw("<hr>")}</div>`.value, "<div><hr></div>")
    assert.strictEqual(String(html`<i>${"&"}</i>`), "<i>&amp;</i>")
  })
})
