"""Lesson links: a page's settings live in its URL, and a teacher's link can lock or hide them.

The one place that maps a page's widget keys to URL query parameters and back. A page makes a
:class:`PageLink`, binds each setting before drawing its widget (:meth:`PageLink.bind`, or
:func:`widget`, which also skips a hidden one), and calls :meth:`PageLink.finish` after the
last widget: that writes the settings back to the URL and draws "Share this setup".

The scheme (the same on every page; names are the settings' own, e.g. ``lr``, ``seeds``)::

    ?algo=a2c&lr=0.003&seed=2       only what differs from the page's defaults
    &lock=lr,gamma                  shown, but disabled: the link's value stays
    &hide=entropy_beta              not drawn at all: the link's value (or the default) applies
    &present=1                      the presenter view, app-wide (:func:`presenter_mode`)

A link is read on a page's first run in a session and whenever the URL's parameters change
(another link opened in the same tab). A value that does not fit is named in one warning box
at the top of the page (every bad value a line, a long value abbreviated) and the page's
default is used instead. The values a link did set are remembered (:attr:`LinkState.given`),
so a page's "Reset" can put them back. A lock is a teaching aid, not a security boundary: it
holds for the session; a learner who edits the URL opens a new lesson.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import streamlit as st

LOCK, HIDE, PRESENT = "lock", "hide", "present"
RUN = "run"
"""The tab's own marker: the id of the Train run it holds (:func:`ui.recording.run_marker_ui`),
so that a tab moved to another app server can say what became of its run. Never a setting:
kept as it is by every page's link, and never put in a shared link."""
TAB = (PRESENT, RUN)
"""Parameters that belong to the tab, not to the page's settings: kept across syncs."""
RESERVED = (LOCK, HIDE, PRESENT, RUN)
LOCK_NOTE = "Set by your teacher's link: it cannot be changed here."
PRESENT_KEY = "links.present"
ON, OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
SHOWN_CHARS = 24
"""A link's value longer than this is abbreviated in a warning (:func:`shorten`)."""
SETTINGS_KEY = "cfg."
"""The session-state key prefix of the Train settings' widgets (``ui.widgets``)."""


def keep_widget_values(prefix: str = SETTINGS_KEY) -> None:
    """Carry the settings across page switches: Streamlit forgets the state of widgets a
    page did not draw, unless it is written back through the session-state API. The app
    calls this on every run, whatever the page (here, not in ``ui.widgets``, so the router
    imports no torch)."""
    ss = st.session_state
    for key in [k for k in ss if isinstance(k, str) and k.startswith(prefix)]:
        ss[key] = ss[key]


def resend(key: str) -> None:
    """Send the value of the widget ``key`` to the browser with the widget on this run.

    Streamlit sends a widget's session-state value to the browser only on a run that wrote
    it (``st.session_state[key] = ...``); on the other runs the browser shows the value it
    recorded itself, or the widget's own default (a number box's minimum, a toggle off) when
    it has recorded none. A link's values are written on the page's first run, and a browser
    records some widgets' values only once they are drawn: a button pressed at once (Start,
    the moment it appears) starts a second run before that, and the page then used the link's
    value while its widgets showed their minimums. Written again on every run, the value the
    page uses is the one the widget shows. Call before the widget is drawn."""
    ss = st.session_state
    if key in ss:
        ss[key] = ss[key]


class LinkError(ValueError):
    """A link parameter's text is not a value this setting can take (one line)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()
"""What :meth:`PageLink.read` returns when a link does not (validly) set a parameter."""


def encode(value) -> str:
    """A value as URL text: 1/0 for booleans, ``off`` for None, floats without noise."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return "off"
    if isinstance(value, float):
        return format(value, ".12g")
    if isinstance(value, (tuple, list)):
        return ",".join(encode(v) for v in value)
    return str(value)


def shorten(text: str, limit: int = SHOWN_CHARS) -> str:
    """A link's text as a warning shows it: as typed when short, a long number in scientific
    notation, anything else cut with an ellipsis.

    >>> shorten("1e99"), shorten("1" * 100), shorten("x" * 40)
    ('1e99', '1.11111e+99', 'xxxxxxxxxxxxxxxxxxxxxxx…')
    """
    t = text.strip()
    if len(t) <= limit:
        return t
    try:
        v = float(t)
    except ValueError:
        v = math.nan
    if math.isfinite(v):
        return format(v, ".6g")
    return t[:limit - 1] + "…"


def shown(value) -> str:
    """A parsed value as a message shows it: a whole number with thousands separators, a huge
    one (``int("1e99")`` has 100 digits) in scientific notation.

    >>> shown(20_000), shown(10**99), shown(0.003), shown("relu")
    ('20,000', '1e+99', '0.003', 'relu')
    """
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) < 10**15 else format(value, ".3g")
    if isinstance(value, float):
        return format(value, ",.12g") if value.is_integer() and abs(value) < 1e15 \
            else format(value, ".6g")
    return str(value)


# ----- parsers: URL text -> a value, or LinkError -----------------------------------------------

Parser = Callable[[str], object]


def choice(options: Sequence) -> Parser:
    """One of ``options``, written as :func:`encode` writes it (case-insensitive)."""
    def parse(text: str):
        for o in options:
            if encode(o).lower() == text.strip().lower():
                return o
        shown = ", ".join(encode(o) for o in options)
        raise LinkError(f"must be one of {shown}")
    return parse


def whole(low: int, high: int) -> Parser:
    """A whole number from ``low`` to ``high``."""
    def parse(text: str):
        try:
            v = int(text.strip())
        except ValueError:
            raise LinkError(f"must be a whole number from {low:,} to {high:,}") from None
        if not low <= v <= high:
            raise LinkError(f"must be a whole number from {low:,} to {high:,}")
        return v
    return parse


def real(low: float, high: float) -> Parser:
    """A finite number from ``low`` to ``high``."""
    def parse(text: str):
        try:
            v = float(text.strip())
        except ValueError:
            v = math.nan
        if not (math.isfinite(v) and low <= v <= high):
            raise LinkError(f"must be a number from {low:g} to {high:g}")
        return v
    return parse


def flag() -> Parser:
    """A boolean: 1/true/yes/on or 0/false/no/off."""
    def parse(text: str):
        t = text.strip().lower()
        if t in ON or t in OFF:
            return t in ON
        raise LinkError("must be 1 or 0")
    return parse


def span(options: Sequence) -> Parser:
    """A range ``low,high`` of two of ``options`` (a range select-slider), low <= high."""
    one = choice(options)

    def parse(text: str):
        parts = text.split(",")
        if len(parts) != 2:
            raise LinkError("must be two values, low,high")
        lo, hi = one(parts[0]), one(parts[1])
        if list(options).index(lo) > list(options).index(hi):
            raise LinkError("must be low,high with low <= high")
        return (lo, hi)
    return parse


# ----- one setting, and what a link says about it ------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One setting of a page: its URL name, its widget's session-state key, its default and
    how URL text becomes a value (a :data:`Parser` raising :class:`LinkError`)."""

    name: str
    key: str
    default: object
    parse: Parser
    label: str = ""

    def same(self, value) -> bool:
        """Whether ``value`` is the default (a range's list equals its tuple; True is not 1)."""
        a = tuple(value) if isinstance(value, list) else value
        if isinstance(a, bool) != isinstance(self.default, bool):
            return False
        return a == self.default


@dataclass(frozen=True)
class Control:
    """How to draw a bound setting: disabled (locked by the link) or not at all (hidden)."""

    locked: bool = False
    hidden: bool = False

    def help(self, text: str | None) -> str | None:
        """The widget's tooltip, with the lock note first when it is locked."""
        if not self.locked:
            return text
        return LOCK_NOTE + (f" {text}" if text else "")


FREE = Control()
"""A setting no link locks or hides."""


@dataclass
class LinkState:
    """What a page's link left in the session: the URL it last wrote (to tell a new link from
    our own write), the locked and hidden values, and the values last drawn (so a setting
    survives a visit to another page, which clears the URL)."""

    synced: dict | None = None
    locks: dict = field(default_factory=dict)
    hidden: set = field(default_factory=set)
    values: dict = field(default_factory=dict)
    given: dict = field(default_factory=dict)
    """The values the last link opened set, by session-state key (what a "Reset" puts back)."""


def _url() -> dict[str, str]:
    """The current query parameters, the last value of each."""
    qp = st.query_params
    return {k: qp.get(k) for k in qp}


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


class PageLink:
    """A page's settings and its URL for one script run (see the module docstring).

    ``notices``: where the warning box about bad link values goes (a placeholder the page made
    at its top); by default a placeholder made where the link is made."""

    def __init__(self, page: str, notices=None):
        ss = st.session_state
        self._notices = notices if notices is not None else st.empty()
        self.page = page
        self.state: LinkState = ss.setdefault(f"links.{page}", LinkState())
        url = {k: v for k, v in _url().items() if k not in TAB}
        self.url = url
        self.applying = bool(url) and url != self.state.synced
        self.params: dict[str, Param] = {}
        self.warnings: list[str] = []
        self.handled: set[str] = set()
        """URL names a page consumed itself (e.g. a setting of another algorithm, warned)."""
        if self.applying:  # a new link: its locks and values replace any earlier ones
            self.state.locks, self.state.hidden, self.state.given = {}, set(), {}
            self._lock_names = _names(url.get(LOCK))
            self._hide_names = _names(url.get(HIDE))
        else:
            self._lock_names, self._hide_names = [], []

    # -- reading ---------------------------------------------------------------------------

    def read(self, p: Param):
        """The link's value for ``p`` on a run that applies a link: the parsed value, or
        :data:`MISSING` when the link does not set it (or sets it badly: then a warning is
        queued and the caller keeps the default)."""
        text = self.url.get(p.name) if self.applying else None
        if text is None:
            return MISSING
        self.handled.add(p.name)
        try:
            value = p.parse(text)
        except LinkError as exc:
            self.warn(p, text, str(exc))
            return MISSING
        self.state.given[p.key] = value
        return value

    def warn(self, p: Param, text: str, reason: str) -> None:
        """Queue one warning naming the parameter (shown by :meth:`finish`)."""
        if not reason.startswith((p.name, "unknown")):  # "seed must be ...", "unknown algo..."
            reason = f"{p.name} {reason}"
        self.warnings.append(f"Link parameter `{p.name}={shorten(text)}` ignored ({reason}); "
                             f"using {encode(p.default)}.")

    def bind(self, p: Param, apply: bool = True) -> Control:
        """Register ``p`` and put its value in ``st.session_state[p.key]`` before its widget
        is drawn: the link's value on a run that applies a link (``apply=False``: the page
        applied it itself), else what the session had (restored after a page switch), and a
        locked or hidden value always. The value is written on every run (:func:`resend`), so
        the widget shows the value the page uses, however early the next run came."""
        ss = st.session_state
        self.params[p.name] = p
        if self.applying and apply:
            value = self.read(p)
            ss[p.key] = p.default if value is MISSING else value
        elif p.key not in ss:
            ss[p.key] = self.state.values.get(p.key, p.default)
        if self.applying and (p.name in self._lock_names or p.name in self._hide_names):
            self.state.locks[p.name] = ss[p.key]
            if p.name in self._hide_names:
                self.state.hidden.add(p.name)
        if p.name in self.state.locks:
            ss[p.key] = self.state.locks[p.name]
        resend(p.key)
        return self.control(p.name)

    def control(self, name: str) -> Control:
        """Whether setting ``name`` is locked or hidden (after it was bound)."""
        hidden = name in self.state.hidden
        return Control(locked=name in self.state.locks and not hidden, hidden=hidden)

    def value(self, p: Param):
        """``p``'s current value (a range slider's list as a tuple)."""
        v = st.session_state.get(p.key, p.default)
        return tuple(v) if isinstance(v, list) else v

    # -- writing ---------------------------------------------------------------------------

    def query(self, locks: Sequence[str] = (), hides: Sequence[str] = ()) -> dict[str, str]:
        """This page's settings as query parameters: those off their default, then the locks."""
        out = {name: encode(self.value(p)) for name, p in self.params.items()
               if not p.same(self.value(p))}
        if locks:
            out[LOCK] = ",".join(locks)
        if hides:
            out[HIDE] = ",".join(hides)
        return out

    def _current_locks(self) -> tuple[list[str], list[str]]:
        locked = [n for n in self.state.locks if n not in self.state.hidden]
        return locked, [n for n in self.state.locks if n in self.state.hidden]

    def sync(self) -> dict[str, str]:
        """Write the settings to the URL (only when they changed) and remember what we wrote.
        Parameters this page does not know are dropped, after a warning."""
        if self.applying:
            for name in [*self._lock_names, *self._hide_names]:
                if name not in self.params:
                    which = LOCK if name in self._lock_names else HIDE
                    self.warnings.append(f"Link parameter `{which}` names `{name}`, which is "
                                         "not a setting here: ignored.")
            unknown = [k for k in self.url
                       if k not in self.params and k not in self.handled and k not in RESERVED]
            for k in unknown:
                self.warnings.append(f"Link parameter `{shorten(k)}` is not a setting of this "
                                     f"page: ignored. Its settings: {', '.join(self.params)}.")
        wanted = self.query(*self._current_locks())
        current = _url()
        for name in TAB:
            if name in current:
                wanted[name] = current[name]
        if wanted != current:
            st.query_params.from_dict(wanted)
        self.state.synced = {k: v for k, v in wanted.items() if k not in TAB}
        self.state.values = {p.key: self.value(p) for p in self.params.values()}
        return wanted

    def finish(self, where=None, dialog: bool = False) -> None:
        """After the page's last widget: the warning box (in the page's ``notices``), the lock
        note, the URL, and "Share this setup" (drawn in ``where``, a container, if given; a
        button that opens it as a wide dialog with ``dialog=True``, for a narrow column)."""
        wanted = {k: v for k, v in self.sync().items() if k != RUN}  # never shared
        lines = list(dict.fromkeys(self.warnings))
        if lines:
            self._notices.warning(warning_box(lines), icon=":material/link_off:")
        box = where if where is not None else st.container()
        with box:
            locked, hidden = self._current_locks()
            if locked or hidden:
                labels = [self.params[n].label or n for n in locked if n in self.params]
                st.caption(":material/lock: Set by your teacher's link"
                           + (f": {', '.join(labels)}" if labels else "")
                           + (f" ({len(hidden)} more hidden)." if hidden else "."))
            if dialog:
                share_button(self, wanted)
            else:
                share_ui(self, wanted)


WARNING_TITLE = "This link has values the page could not use"


def warning_box(lines: Sequence[str]) -> str:
    """One warning for every bad value of a link: a title, then a line each (markdown)."""
    return f"**{WARNING_TITLE}**; it uses its defaults for them:\n\n" + "\n".join(
        f"- {line}" for line in lines)


def given(page: str) -> dict:
    """The values the link last opened on ``page`` set, by session-state key ({} without)."""
    state = st.session_state.get(f"links.{page}")
    return dict(state.given) if isinstance(state, LinkState) else {}


def full_url(query: dict[str, str]) -> str:
    """The address of this page with ``query`` (relative when the browser sent no URL)."""
    base = st.context.url or ""
    return base + ("?" + urlencode(query, safe=",") if query else "")


def share_ui(link: PageLink, wanted: dict[str, str]) -> None:
    """"Share this setup" as an expander: the link and the teacher's builder."""
    with st.expander("Share this setup", icon=":material/link:"):
        share_body(link, wanted)


def share_body(link: PageLink, wanted: dict[str, str]) -> None:
    """The link to the settings as they are (st.code has a copy button) and, unless this page
    is already locked by a link, a teacher's lock/hide builder."""
    st.caption("Copy this link to open this page with exactly these settings.")
    st.code(full_url(wanted), language=None, wrap_lines=True)
    if link.state.locks:
        return
    names = list(link.params)
    label = {n: link.params[n].label or n for n in names}
    st.caption("For a lesson, lock or hide settings, so learners see only what the "
               "lesson is about.")
    c1, c2 = st.columns(2)
    locks = c1.multiselect("Lock (shown, cannot be changed)", names, format_func=label.get,
                           key=f"links.{link.page}.pick_lock")
    hides = c2.multiselect("Hide (not shown, value applies)",
                           [n for n in names if n not in locks], format_func=label.get,
                           key=f"links.{link.page}.pick_hide")
    hides = [n for n in hides if n not in locks]
    if locks or hides:
        q = link.query(locks, hides)
        if PRESENT in wanted:
            q[PRESENT] = wanted[PRESENT]
        st.code(full_url(q), language=None, wrap_lines=True)
        st.caption("A locked or hidden setting keeps this link's value for the learner's "
                   "whole session, whatever preset or reset they choose.")


def _sharing_key(page: str) -> str:
    return f"links.{page}.sharing"


def _open_sharing(page: str) -> None:
    st.session_state[_sharing_key(page)] = True


def _close_sharing() -> None:
    """The dialog was closed: no page's stays open (one dialog is open at a time)."""
    ss = st.session_state
    for key in [k for k in ss if isinstance(k, str) and k.startswith("links.")
                and k.endswith(".sharing")]:
        del ss[key]


@st.dialog("Share this setup", width="large", icon=":material/link:", on_dismiss=_close_sharing)
def _share_dialog(link: PageLink, wanted: dict[str, str]) -> None:
    share_body(link, wanted)


def share_button(link: PageLink, wanted: dict[str, str]) -> None:
    """"Share this setup" for a narrow column: a button that opens the link and the teacher's
    builder in a wide dialog, which stays open across reruns until it is closed."""
    st.button("Share this setup", icon=":material/link:", type="tertiary",
              key=f"{_sharing_key(link.page)}.open", on_click=_open_sharing, args=(link.page,),
              help="The link to these settings; for a teacher, a link that locks or hides "
                   "some of them.")
    if st.session_state.get(_sharing_key(link.page)):
        _share_dialog(link, wanted)


def widget(link: PageLink | None, p: Param, draw: Callable[[Control], object]):
    """Bind ``p`` and draw its widget with ``draw(control)`` (which passes ``key=p.key``,
    ``disabled=control.locked`` and ``help=control.help(...)``); a hidden setting is not drawn
    and its value is returned as it is. Without a link, just seeds the default."""
    if link is None:
        st.session_state.setdefault(p.key, p.default)
        resend(p.key)
        control = Control()
    else:
        control = link.bind(p)
    if control.hidden:
        return link.value(p)
    return draw(control)


# ----- the presenter view -----------------------------------------------------------------------


def presenter_mode() -> bool:
    """Whether this session shows the presenter view: ``?present=1`` turns it on (``0``
    off); it stays on across page switches, which clear the URL, so it is put back there."""
    ss = st.session_state
    text = st.query_params.get(PRESENT)
    if text is not None:
        t = text.strip().lower()
        if t in ON or t in OFF:
            ss[PRESENT_KEY] = t in ON
        else:
            st.warning(f"Link parameter `present={text}` ignored: use present=1 (presenter view) "
                       "or present=0.", icon=":material/link_off:")
    on = bool(ss.get(PRESENT_KEY, False))
    if on and st.query_params.get(PRESENT) != "1":
        st.query_params[PRESENT] = "1"
    elif not on and PRESENT in st.query_params:
        del st.query_params[PRESENT]
    return on


def set_presenter(on: bool) -> None:
    """Turn the presenter view on or off (a button callback)."""
    st.session_state[PRESENT_KEY] = on
    if on:
        st.query_params[PRESENT] = "1"
    elif PRESENT in st.query_params:
        del st.query_params[PRESENT]


def presenting() -> bool:
    """The presenter view's state as :func:`presenter_mode` left it this run."""
    return bool(st.session_state.get(PRESENT_KEY, False))
