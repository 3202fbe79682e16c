"""Every chart in words (ui/charts/words.py): the sentence and the table read from a chart's own
Vega-Lite spec, whatever form its data takes."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pyarrow as pa

from ui.charts import words
from ui.charts.thresholds import SOLVED, rules


def curves() -> pd.DataFrame:
    a2c = [{"episode": e, "avg": min(500.0, 3.0 * e), "run": "A2C"} for e in range(1, 301)]
    rf = [{"episode": e, "avg": 0.2 * e, "run": "REINFORCE"} for e in range(1, 1001)]
    return pd.DataFrame(a2c + rf)


def curves_chart() -> alt.LayerChart:
    lines = alt.Chart(curves()).mark_line().encode(
        x=alt.X("episode:Q", title="episode"), y=alt.Y("avg:Q", title="100-episode average"),
        color="run:N")
    return alt.layer(lines, *rules(SOLVED))


def test_a_curve_chart_says_where_each_run_ends_and_when_it_reached_the_line():
    text = words.summary(curves_chart().to_dict())
    assert text.startswith("100-episode average against episode: ")
    assert "A2C ends at 500 at episode 300 (highest 500), first reached 475 at 159" in text
    assert "REINFORCE ends at 200 at episode 1,000 (highest 200), had not reached 475 by 1,000" \
        in text


def test_the_lines_to_reach_are_read_from_the_rules():
    assert words.thresholds(curves_chart().to_dict()) == [195.0, 475.0]


def test_the_table_is_the_main_layer_with_the_charts_titles_one_row_per_x():
    table = words.table(curves_chart().to_dict())
    assert list(table.columns) == ["episode", "100-episode average: A2C",
                                   "100-episode average: REINFORCE"]
    assert len(table) == 1000 and table["100-episode average: A2C"].isna().sum() == 700
    seeds = pd.DataFrame({"episode": [1, 1, 2, 2], "avg": [1.0, 2, 3, 4], "run": ["a"] * 4})
    long = alt.Chart(seeds).mark_point().encode(x="episode:Q", y="avg:Q", color="run:N")
    assert list(words.table(long.to_dict()).columns) == ["episode", "avg", "run"]  # as it is


def test_a_stacked_share_reaches_no_line():
    shares = pd.DataFrame({"round": [1, 1, 2, 2], "p": [0.7, 0.3, 0.5, 0.5],
                           "hand": ["rock", "paper"] * 2})
    chart = alt.layer(alt.Chart(shares).mark_area().encode(x="round:Q", y="p:Q", color="hand:N"),
                      alt.Chart().mark_rule().encode(y=alt.datum(2 / 3)))
    text = words.summary(chart.to_dict())
    assert "rock ends at 0.5 at round 2 (highest 0.7)" in text and "reached" not in text


def test_data_as_arrow_or_a_frame_reads_the_same():
    rows = curves()
    enc = {"x": {"field": "episode", "type": "quantitative"},
           "y": {"field": "avg", "type": "quantitative"}, "color": {"field": "run"}}
    as_records = words.summary({"data": {"values": rows.to_dict("records")}, "mark": "line",
                                "encoding": enc})
    for values in (rows, pa.Table.from_pandas(rows), rows.to_dict("list")):
        spec = {"data": {"values": values}, "mark": "line", "encoding": enc}
        assert words.summary(spec) == as_records != ""


def test_a_bar_chart_lists_its_values():
    bars = pd.DataFrame({"estimator": ["G_t", "G_t - V"], "variance": [12.5, 0.8]})
    spec = alt.Chart(bars).mark_bar().encode(x="estimator:N", y="variance:Q").to_dict()
    assert words.summary(spec) == "variance by estimator: G_t 12.5; G_t - V 0.8."
    horizontal = alt.Chart(bars).mark_bar().encode(y="estimator:N", x="variance:Q").to_dict()
    assert words.summary(horizontal) == words.summary(spec)


def test_many_points_per_x_are_told_as_a_spread():
    pts = pd.DataFrame({"seed": [0, 0, 1, 1], "ret": [10.0, 30.0, 20.0, 40.0]})
    spec = alt.Chart(pts).mark_point().encode(x="seed:Q", y="ret:Q").to_dict()
    assert words.summary(spec).endswith("4 points from 10 to 40 (median 25).")


def test_a_chart_with_no_x_against_y_has_no_words():
    assert words.summary({"mark": "rule", "encoding": {"y": {"datum": 475}}}) == ""
    assert words.table({"mark": "rule", "encoding": {"y": {"datum": 475}}}) is None
    empty = {"data": {"values": []}, "mark": "line",
             "encoding": {"x": {"field": "a", "type": "quantitative"},
                          "y": {"field": "b", "type": "quantitative"}}}
    assert words.summary(empty) == "" and words.table(empty) is None


def test_more_series_than_named_are_counted():
    rows = [{"x": 1, "y": float(k), "s": f"run {k}"} for k in range(9)]
    spec = {"data": {"values": rows}, "mark": "line",
            "encoding": {"x": {"field": "x", "type": "quantitative"},
                         "y": {"field": "y", "type": "quantitative"},
                         "color": {"field": "s", "type": "nominal"}}}
    assert words.summary(spec).endswith("; and 3 more.")


def test_the_data_table_is_html_a_screen_reader_can_walk_and_stays_short():
    table = words.table(curves_chart().to_dict())
    out = words.table_html(table, "Returns")
    assert out.startswith('<table class="pg-data"><caption>Returns (120 of 1,000 rows')
    assert out.count("<tr>") == 121 and '<th scope="col">100-episode average: A2C</th>' in out
    assert "<tr><td>1</td><td>3</td><td>0.2</td></tr>" in out  # the first row and the last
    assert "<tr><td>1,000</td><td></td><td>200</td></tr>" in out
    small = words.table_html(pd.DataFrame({"who": ["<b>"], "n": [3.0]}))
    assert "<caption>" not in small and "<td>&lt;b&gt;</td><td>3</td>" in small


def test_data_sent_as_arrow_ipc_bytes_reads_the_same():
    """The Train page sends its tables as Arrow IPC bytes (serialised once per snapshot)."""
    spec = curves_chart().to_dict()
    name, rows = next((k, v) for k, v in spec["datasets"].items() if len(v) > 2)
    sink = pa.BufferOutputStream()
    table = pa.Table.from_pylist(rows)
    with pa.RecordBatchStreamWriter(sink, table.schema) as writer:
        writer.write_table(table)
    wired = {**spec, "datasets": {**spec["datasets"], name: sink.getvalue().to_pybytes()}}
    assert words.summary(wired) == words.summary(spec)
    assert words.table(wired).equals(words.table(spec))


def test_a_layer_split_by_seed_names_each_seed():
    seeds = pd.DataFrame({"episode": [1, 2, 1, 2], "value": [10.0, 30.0, 20.0, 60.0],
                          "seed": ["seed 0", "seed 0", "seed 1", "seed 1"],
                          "series": ["one seed"] * 4})
    chart = alt.Chart(seeds).mark_line().encode(
        x="episode:Q", y=alt.Y("value:Q", title="return"), color="series:N", detail="seed:N")
    text = words.summary(chart.to_dict())
    assert "seed 0 ends at 30 at episode 2" in text and "seed 1 ends at 60 at episode 2" in text
