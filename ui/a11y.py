"""What the app adds to Streamlit's pages so a keyboard and a screen reader reach everything.

:data:`SCRIPT` runs in the page (``app.py`` injects it once per script run with ``st.html``; it
takes no space): a region that scrolls (a long code block, a formula one or two pixels wider
than its column) gets ``tabindex="0"``, a role and a name, so a keyboard can focus it and scroll
it with the arrow keys (WCAG 2.1.1; axe-core's ``scrollable-region-focusable``). A region that
no longer scrolls loses what the script gave it. An image Streamlit draws without ``alt`` (the
live CartPole frame) gets its caption as its text alternative (WCAG 1.1.1). The sidebar's
menu becomes a navigation landmark ("Pages"), its link to the page shown marked
``aria-current="page"``. It watches the page for new elements, so it covers what the live
panels draw later too.

The rest of the app's accessibility work lives where the thing is drawn: the sidebar menu
(:func:`ui.sidebar.page_links`), the contrast of code and captions (:data:`ui.style.CSS`), the
charts' captions and data tables (:mod:`ui.charts.words`). ``docs/accessibility.md`` lists it
all, with what axe-core measured before and after.
"""

from __future__ import annotations

SCROLLABLE = '.katex-display, [data-testid="stCode"] pre'
"""The elements Streamlit draws with ``overflow: auto`` whose content can overflow them."""

SCRIPT = r"""
<script>
(() => {
  if (window.__pgA11y) return;  // once per browser tab: Streamlit re-sends this every run
  window.__pgA11y = true;
  const SELECTOR = '__SELECTOR__';
  const scrolls = (el) => {
    const s = getComputedStyle(el);
    const x = ["auto", "scroll"].includes(s.overflowX) && el.scrollWidth > el.clientWidth;
    const y = ["auto", "scroll"].includes(s.overflowY) && el.scrollHeight > el.clientHeight;
    return x || y;
  };
  const mark = () => {
    // the sidebar's menu (ui/sidebar.page_links) is the page's navigation landmark, and its
    // link to this page says so
    const nav = document.querySelector(".st-key-pg-nav");
    if (nav) {
      if (!nav.hasAttribute("role")) {
        nav.setAttribute("role", "navigation");
        nav.setAttribute("aria-label", "Pages");
      }
      const here = location.pathname.replace(/\/+$/, "");
      for (const a of nav.querySelectorAll("a[href]")) {
        // Home's href is "": it means the app's root, not this page
        const to = new URL(a.getAttribute("href") || "./", location.href);
        const path = to.pathname.replace(/\/+$/, "");
        if (path === here) a.setAttribute("aria-current", "page");
        else a.removeAttribute("aria-current");
      }
    }
    // an image (the CartPole frame) is named by its caption: Streamlit draws it with no alt
    for (const img of document.querySelectorAll('[data-testid="stImage"] img:not([alt])')) {
      const box = img.closest('[data-testid="stImage"]');
      const cap = box && box.querySelector('[data-testid="stImageCaption"]');
      img.setAttribute("alt", cap ? cap.innerText.trim() : "");
    }
    for (const el of document.querySelectorAll(SELECTOR)) {
      const ours = el.dataset.pgFocusable === "1";
      if (scrolls(el)) {
        if (ours || el.hasAttribute("tabindex")) continue;
        el.setAttribute("tabindex", "0");
        el.setAttribute("role", "region");
        el.setAttribute("aria-label", el.matches("pre") ? "Code (scrolls)" : "Formula");
        el.dataset.pgFocusable = "1";
      } else if (ours) {
        for (const a of ["tabindex", "role", "aria-label", "data-pg-focusable"]) {
          el.removeAttribute(a);
        }
      }
    }
  };
  let queued = false;
  const later = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; mark(); });
  };
  new MutationObserver(later).observe(document.body, {childList: true, subtree: true});
  window.addEventListener("resize", later);
  // a formula can overflow once its fonts load or its column narrows, with no mutation
  if (document.fonts) document.fonts.addEventListener("loadingdone", later);
  new ResizeObserver(later).observe(document.body);
  setInterval(later, 1000);  // anything else that changes a region's overflow
  later();
})();
</script>
""".replace("__SELECTOR__", SCROLLABLE)
"""The page script described above (plain JavaScript; no input of anyone's goes into it)."""
