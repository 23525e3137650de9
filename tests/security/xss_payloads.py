"""A corpus of hostile input (XSS and template injection) for the rendering and browser tests.

Every payload, if it ever runs, calls a sink a test can see: ``xss(N)`` (a function the browser
test installs), ``alert(N)``/``confirm(N)``/``print()`` (dialogs), ``fetch(...)`` of a URL whose
path holds ``xss-N``, ``document.title``/``location.hash`` set to ``xss-N``, or, for template
injection, the text ``49sstiN`` (what ``{{7*7}}sstiN`` becomes when a template engine runs it).
``N`` is the payload's id, so a failure names the payload that got through.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

MARKER = "xss-"  # in a URL path, document.title or location.hash: a payload ran
SSTI_MARKER = "49ssti"  # in page text: a template engine evaluated user input


@dataclass(frozen=True)
class Payload:
    id: int
    family: str  # markdown | html | svg | math | break-out | template | wikilink | htmx | css
    text: str

    @property
    def one_line(self) -> bool:
        """Whether it fits a single-line field (titles, names, tags, summaries, file names)."""
        return "\n" not in self.text and len(self.text) <= 120


def _sink(n: int) -> str:
    """The JavaScript a payload runs: one of the detectable sinks, without quotes of any kind
    (so it fits in single- and double-quoted attributes alike)."""
    sinks = [
        f"xss({n})",
        f"alert({n})",
        f"xss({n})",
        f"confirm({n})",
        f"fetch(/xss-/.source+{n})",
        f"xss({n})",
        f"document.title=/xss-/.source+{n}",
        f"xss({n})",
        f"location.hash=/xss-/.source+{n}",
        "print()" if n % 20 == 9 else f"xss({n})",
    ]
    return sinks[n % len(sinks)]


def _entities(text: str, *, hexa: bool = False, padded: bool = False) -> str:
    if hexa:
        return "".join(f"&#x{ord(c):x};" for c in text)
    if padded:
        return "".join(f"&#{ord(c):07d}" for c in text)
    return "".join(f"&#{ord(c)};" for c in text)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# {js}: the sink; {n}: the id; {alert}: alert(n), for payloads that would run in another
# document (iframes, data: URLs) where xss() is not defined; {b64}: base64 of a script tag
# calling alert(n); {ent}, {hex}, {pad}: "javascript:{js}" as decimal, hex and zero-padded
# character references.
_TEMPLATES: list[tuple[str, str]] = [
    # --- markdown links and images -------------------------------------------------------
    ("markdown", "[click](javascript:{js})"),
    ("markdown", "[click](JaVaScRiPt:{js})"),
    ("markdown", "[click](  javascript:{js}  'title')"),
    ("markdown", "[click](<javascript:{js}>)"),
    ("markdown", "[click](javascript&colon;{js})"),
    ("markdown", "[click](jav&#x09;ascript:{js})"),
    ("markdown", "[click](java&#115;cript:{js})"),
    ("markdown", "[click]({ent})"),
    ("markdown", "[click]({hex})"),
    ("markdown", "[click](javascript://%0A{js})"),
    ("markdown", "[click](data:text/html;base64,{b64})"),
    ("markdown", "[click](data:text/html,<script>{alert}</script>)"),
    ("markdown", "[click](DATA:text/html;base64,{b64})"),
    ("markdown", "[click](vbscript:{js})"),
    ("markdown", "![img](javascript:{js})"),
    ("markdown", '![img](x "onerror={js}")'),
    ("markdown", '![img](x" onerror="{js})'),
    ("markdown", "![img](data:image/svg+xml;base64,{svgb64})"),
    ("markdown", "[click][ref{n}]\n\n[ref{n}]: javascript:{js}"),
    ("markdown", '[click][ref{n}]\n\n[ref{n}]: JAVASCRIPT:{js} "t"'),
    ("markdown", "<javascript:{js}>"),
    ("markdown", '[click](https://example.com" onclick="{js})'),
    ("markdown", "[click](https://example.com 'a\" onmouseover=\"{js}')"),
    ("markdown", '[click](attachment:x.png" onerror="{js})'),
    ("markdown", '![img](attachment:x.png" onerror="{js})'),
    ("markdown", "[click](attachment:javascript:{js})"),
    ("markdown", "**<img src=x onerror={js}>** and _<svg onload={js}>_"),
    ("markdown", "Text[^f{n}]\n\n[^f{n}]: <img src=x onerror={js}>"),
    ("markdown", "## <img src=x onerror={js}> heading {n}\n\n### second <svg onload={js}>"),
    ("markdown", '!!! note "<img src=x onerror={js}>"\n    admonition body'),
    ("markdown", "| a |\n|---|\n| <img src=x onerror={js}> |"),
    ("markdown", '```"><img src=x onerror={js}>\ncode\n```'),
    ("markdown", "- [x] <img src=x onerror={js}> task"),
    ("markdown", "`<img src=x onerror={js}>` and ``</code><img src=x onerror={js}>``"),
    ("markdown", "> <script>{js}</script>"),
    ("markdown", "[<img src=x onerror={js}>](https://example.com)"),
    # --- wikilinks ---------------------------------------------------------------------------
    ("wikilink", "[[Home|<img src=x onerror={js}>]]"),
    ("wikilink", "[[javascript:{js}]]"),
    ("wikilink", "[[javascript:{js}|click]]"),
    ("wikilink", "[[<script>{js}</script>]]"),
    ("wikilink", '[["><svg onload={js}>]]'),
    ("wikilink", '[[Home|" onmouseover="{js}]]'),
    ("wikilink", "[[<img src=x onerror={js}> missing page {n}]]"),
    # --- raw HTML ----------------------------------------------------------------------------
    ("html", "<script>{js}</script>"),
    ("html", "<SCRIPT SRC=/xss-{n}.js></SCRIPT>"),
    ("html", "<script src=data:text/javascript,{js}></script>"),
    ("html", "<img src=x onerror={js}>"),
    ("html", "<IMG SRC=x OnErRoR={js}>"),
    ("html", '<img src="x" onerror="{js}">'),
    ("html", "<img/src=x/onerror={js}>"),
    ("html", "<img src=x onerror\x0c={js}>"),
    ("html", '<img src=x onerror="{jsent}">'),
    ("html", "<img src=javascript:{js}>"),
    ("html", "<image src=x onerror={js}>"),
    ("html", "<img srcset=x onerror={js}>"),
    ("html", "<picture><source srcset=x><img src=x onerror={js}></picture>"),
    ("html", '<iframe srcdoc="&lt;img src=x onerror={alert}&gt;"></iframe>'),
    ("html", '<iframe src="javascript:{alert}"></iframe>'),
    ("html", '<iframe src="data:text/html;base64,{b64}"></iframe>'),
    ("html", '<object data="javascript:{alert}"></object>'),
    ("html", '<object data="data:text/html;base64,{b64}"></object>'),
    ("html", '<embed src="javascript:{alert}">'),
    ("html", '<embed src="data:text/html;base64,{b64}">'),
    ("html", '<form action="javascript:{js}"><button>go</button></form>'),
    ("html", '<form><button formaction="javascript:{js}">go</button></form>'),
    ("html", "<input onfocus={js} autofocus>"),
    ("html", "<input type=image src=x onerror={js}>"),
    ("html", "<select autofocus onfocus={js}><option>x</option></select>"),
    ("html", "<textarea autofocus onfocus={js}>x</textarea>"),
    ("html", "<video><source onerror={js}></video>"),
    ("html", "<audio src=x onerror={js}></audio>"),
    ("html", "<video poster=javascript:{js}></video>"),
    ("html", "<body onload={js}>"),
    ("html", "<marquee onstart={js}>x</marquee>"),
    ("html", "<details open ontoggle={js}><summary>s</summary>x</details>"),
    ("html", '<a href="&#106;avascript:{js}">click</a>'),
    ("html", '<a href="javascript&colon;{js}">click</a>'),
    ("html", '<a href="jav&#x09;ascript:{js}">click</a>'),
    ("html", '<a href=" javascript:{js}">click</a>'),
    ("html", '<a href="{pad}">click</a>'),
    ("html", '<a href="java\nscript:{js}">click</a>'),
    ("html", '<a href="data:text/html;base64,{b64}">click</a>'),
    ("html", '<a href="vbscript:{js}">click</a>'),
    ("html", '<a href="#" onclick="{js}">click</a>'),
    ("html", "<a href=x onmouseover={js}>hover</a>"),
    ("html", '<div onmouseover="{js}">hover</div>'),
    ("html", "<x-widget onfocus={js} tabindex=1>focus</x-widget>"),
    ("html", '<a href="javascript:void(0)" onfocus={js} autofocus>x</a>'),
    ("html", '<table background="javascript:{js}"><tr><td>x</td></tr></table>'),
    ("html", '<base href="http://127.0.0.1:9/xss-{n}/">'),
    ("html", '<meta http-equiv="refresh" content="0;url=javascript:{js}">'),
    ("html", '<meta http-equiv="refresh" content="0;url=/xss-{n}">'),
    ("html", "<isindex action=javascript:{js} type=image>"),
    ("html", '<object type="text/x-scriptlet" data="/xss-{n}"></object>'),
    ("html", "<frameset onload={js}>"),
    ("html", "<!--><img src=x onerror={js}>-->"),
    ("html", "<!-- --!><img src=x onerror={js}> -->"),
    ("html", "<![CDATA[><img src=x onerror={js}>]]>"),
    ("html", "<? ><img src=x onerror={js}> ?>"),
    ("html", "<img src=x onerror={js}//"),
    ("html", "<<script>script>{js}<</script>/script>"),
    ("html", "<scr<script>ipt>{js}</scr</script>ipt>"),
    ("html", "<img src=`x` onerror={js}>"),
    ("html", '<noscript><p title="</noscript><img src=x onerror={js}>"></noscript>'),
    ("html", "<template><img src=x onerror={js}></template>"),
    ("html", '<div id="x"><a href=x id=y name=z onpointerover={js}>hover</a></div>'),
    ("html", "<img src=x:alert(1) onerror=eval(src.slice(2).replace(/1/,{n}))>"),
    # --- SVG and MathML ------------------------------------------------------------------
    ("svg", "<svg onload={js}>"),
    ("svg", "<svg><script>{js}</script></svg>"),
    ("svg", "<svg><animate onbegin={js} attributeName=x dur=1s></svg>"),
    ("svg", '<svg><a xlink:href="javascript:{js}"><text x=20 y=20>click</text></a></svg>'),
    (
        "svg",
        "<svg><a><animate attributeName=href values=javascript:{js} />"
        "<text x=20 y=20>click</text></a></svg>",
    ),
    ("svg", "<svg><foreignObject><img src=x onerror={js}></foreignObject></svg>"),
    ("svg", "<svg><style>&lt;img src=x onerror={js}&gt;</style></svg>"),
    ("svg", '<svg><use href="data:image/svg+xml;base64,{svgb64}#x"/></svg>'),
    ("svg", "<svg><set attributeName=onmouseover to={js} /><rect width=99 height=99 /></svg>"),
    ("math", "<math><mtext><table><mglyph><style><img src=x onerror={js}>"),
    (
        "math",
        "<math><mtext><table><mglyph><style><!--</style>"
        '<img title="--&gt;&lt;/mglyph&gt;&lt;img src=1 onerror={js}&gt;">',
    ),
    ("math", "<form><math><mtext></form><form><mglyph><style></math><img src onerror={js}>"),
    ("math", '<math href="javascript:{js}">CLICK</math>'),
    (
        "math",
        '<math><maction actiontype=statusline xlink:href="javascript:{js}">'
        "CLICK<mtext>x</mtext></maction></math>",
    ),
    ("math", '<math><mi xlink:href="data:x,<script>{alert}</script>">x</mi></math>'),
    # --- CSS ---------------------------------------------------------------------------------
    ("css", '<div style="width: expression({js})">x</div>'),
    ("css", '<p style="background:url(javascript:{js})">x</p>'),
    ("css", "<style>@import url(/xss-{n}.css);</style>"),
    ("css", "<style>@import 'data:,*%7bx:expression({js})%7D';</style>"),
    ("css", "<link rel=stylesheet href=/xss-{n}.css>"),
    ("css", "<div style=\"background-image:url('/xss-{n}.png')\">x</div>"),
    # --- htmx attributes (the app runs htmx: these would make requests or run code) --------
    ("htmx", '<div hx-get="/xss-{n}" hx-trigger="load">x</div>'),
    ("htmx", '<div data-hx-get="/xss-{n}" data-hx-trigger="load">x</div>'),
    ("htmx", '<button hx-post="/xss-{n}" hx-trigger="load">x</button>'),
    ("htmx", '<div hx-on::load="{js}" hx-get="/healthz" hx-trigger="load">x</div>'),
    ("htmx", '<div hx-on:htmx:before-request="{js}" hx-get="/" hx-trigger="load">x</div>'),
    ("htmx", '<img src=x hx-on:error="{js}">'),
    ("htmx", '<a href="/" hx-boost="true" hx-vals="js:{{x:{js}}}" hx-trigger="load">x</a>'),
    # --- attribute and context break-outs (single-line fields) --------------------------
    ("break-out", '" onmouseover="{js}" x="'),
    ("break-out", "' onmouseover='{js}' x='"),
    ("break-out", "'><script>{js}</script>"),
    ("break-out", '"><img src=x onerror={js}>'),
    ("break-out", "'\"><svg onload={js}>"),
    ("break-out", "</title><script>{js}</script>"),
    ("break-out", "</textarea><img src=x onerror={js}>"),
    ("break-out", "</script><script>{js}</script>"),
    ("break-out", "--><img src=x onerror={js}>"),
    ("break-out", "]]><img src=x onerror={js}>"),
    ("break-out", "javascript:{js}"),
    ("break-out", '" autofocus onfocus="{js}'),
    ("break-out", "' autofocus onfocus='{js}"),
    ("break-out", "</option></select><img src=x onerror={js}>"),
    ("break-out", '\\"><img src=x onerror={js}>'),
    ("break-out", "&lt;img src=x onerror={js}&gt;"),
    ("break-out", "%3Cimg%20src%3Dx%20onerror%3D{js}%3E"),
    ("break-out", "\u2028<img src=x onerror={js}>\u2029"),
    # --- template injection --------------------------------------------------------------------
    ("template", "{{{{7*7}}}}ssti{n}"),
    ("template", "{{{{ 7*7 }}}}ssti{n}"),
    ("template", "${{7*7}}ssti{n}"),
    ("template", "#{{7*7}}ssti{n}"),
    ("template", "{{% for a in [7] %}}{{{{a*7}}}}ssti{n}{{% endfor %}}"),
    ("template", "{{{{ '<img src=x onerror=xss({n})>'|safe }}}}"),
    ("template", "{{{{constructor.constructor('xss({n})')()}}}}"),
    ("template", "{{% raw %}}<img src=x onerror={js}>{{% endraw %}}"),
]


def _expand(n: int, family: str, template: str) -> Payload:
    js = _sink(n)
    alert = f"alert({n})"
    text = template.format(
        n=n,
        js=js,
        alert=alert,
        b64=_b64(f"<script>{alert}</script>"),
        svgb64=_b64(f'<svg id="x" xmlns="http://www.w3.org/2000/svg" onload="{alert}"/>'),
        ent=_entities(f"javascript:{js}"),
        hex=_entities(f"javascript:{js}", hexa=True),
        pad=_entities(f"javascript:{js}", padded=True),
        jsent=_entities(js),
    )
    return Payload(id=n, family=family, text=text)


PAYLOADS: tuple[Payload, ...] = tuple(
    _expand(n, family, template) for n, (family, template) in enumerate(_TEMPLATES, start=1)
)
BY_ID = {p.id: p for p in PAYLOADS}
ONE_LINE: tuple[Payload, ...] = tuple(p for p in PAYLOADS if p.one_line)

# what a person types into the search box: the queries are reflected in the results screen
SEARCH_QUERIES: tuple[Payload, ...] = tuple(
    p for p in ONE_LINE if p.family in {"break-out", "html", "template"}
)[:12]
