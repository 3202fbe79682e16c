"""A little CSS for the app's own HTML bits (the live metrics and the action bars).

Injected once per script run from ``app.py`` with ``st.html`` (a style-only block takes no
space on the page). Colours follow ``.streamlit/config.toml``.
"""

CSS = """
<style>
.pg-metrics { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 0.75rem;
              margin: 0.1rem 0 0.2rem 0; }
.pg-metric { min-width: 0; }
.pg-label { font-size: 0.875rem; color: #475569; white-space: nowrap; overflow: hidden;
            text-overflow: ellipsis; }
.pg-metric[title] .pg-label { text-decoration: underline dotted #94a3b8; cursor: help; }
.pg-value { font-size: 2rem; line-height: 1.25; color: #0f172a;
            font-variant-numeric: tabular-nums; }
.pg-prob { display: flex; align-items: center; gap: 0.5rem; margin: 0.25rem 0;
           font-size: 0.95rem; }
.pg-prob-label { width: 6.5rem; flex: none; }
.pg-bar { flex: 1; height: 0.6rem; background: #e2e8f0; border-radius: 0.3rem; overflow: hidden; }
.pg-bar > span { display: block; height: 100%; background: #1d4ed8; border-radius: 0.3rem; }
.pg-prob-value { width: 2.6rem; text-align: right; font-variant-numeric: tabular-nums; }
.pg-v { margin-top: 0.5rem; font-size: 0.95rem; }
@media (max-width: 900px) { .pg-metrics { grid-template-columns: repeat(3, minmax(0, 1fr)); } }
</style>
"""
