"""Lesson links (ui/links.py) through AppTest: a URL reproduces a page's setup, the page writes
its settings back to the URL, bad values warn and fall back, a teacher's lock and hide hold,
and the presenter view applies."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pytest
from streamlit.testing.v1 import AppTest

from pgcore import PRESETS
from pgcore.execution import stop_all
from ui import links
from ui.style import PRESENTER_CSS

APP = str(ROOT / "app.py")
TIMEOUT = 60
TRAIN = "views/reinforce/train.py"


@pytest.fixture(autouse=True)
def _stop_runs():
    yield
    stop_all()


def _forget_the_train_run() -> None:
    from ui import state

    state.session_holder().reset()


def open_page(page: str, **params: str) -> AppTest:
    """A fresh session opened at ``page`` with ``params`` in its URL. AppTest sessions in one
    process share the session-scoped tasks: a Train run another test left there (a recorded
    one puts ``run=`` in the URL) is forgotten first, as a new tab would have none."""
    AppTest.from_function(_forget_the_train_run, default_timeout=TIMEOUT).run()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(params)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def warning_boxes(at: AppTest) -> list:
    """The boxes listing a link's bad values (one per page at most)."""
    return [w for w in at.warning if links.WARNING_TITLE in w.value]


def warnings(at: AppTest) -> list[str]:
    """The link's warnings, a line each: those of its box, and a lone one (``present``). A
    page's own warnings (e.g. about a lab's result) are not the link's."""
    found = [w.value for w in at.warning if w.value.startswith("Link parameter")]
    for box in warning_boxes(at):
        found += [line[2:] for line in box.value.splitlines() if line.startswith("- ")]
    return found


def open_share_dialog(at: AppTest, page: str = "train") -> None:
    """Press the Train page's "Share this setup" (it opens a dialog)."""
    at.button(key=f"links.{page}.sharing.open").click().run()
    assert not at.exception, at.exception


def share_links(at: AppTest) -> list[str]:
    return [c.value for c in at.code if "?" in c.value or c.value == ""]


# ----- the Train page ---------------------------------------------------------------------------


def test_a_train_link_reproduces_the_setup_and_the_url_keeps_it():
    at = open_page(TRAIN, algo="a2c", lr="0.003", seed="2", gamma="0.95", max_episodes="300")
    assert at.radio(key="cfg.algo").value == "a2c"
    assert at.select_slider(key="cfg.lr").value == pytest.approx(0.003)
    assert at.select_slider(key="cfg.gamma").value == pytest.approx(0.95)
    assert at.number_input(key="cfg.seed").value == 2
    assert at.number_input(key="cfg.max_episodes").value == 300
    assert not warnings(at) and not at.error
    qp = at.query_params
    assert (qp["algo"], qp["seed"], qp["gamma"], qp["max_episodes"]) == ("a2c", "2", "0.95", "300")
    if PRESETS["a2c"].values.get("lr") != 0.003:
        assert qp["lr"] == "0.003"
    assert "preset" not in qp  # the algorithm's default preset: not spelled out
    assert not share_links(at)  # "Share this setup" is a button ...
    open_share_dialog(at)  # ... that opens the link (and a teacher's builder) in a dialog
    assert any("?algo=a2c" in c for c in share_links(at))
    at.number_input(key="cfg.seed").set_value(3).run()  # it stays open across reruns
    assert any("seed=3" in c for c in share_links(at))


def test_changing_a_widget_updates_the_url_and_the_default_drops_out():
    at = open_page(TRAIN)
    assert "seed" not in at.query_params and "algo" not in at.query_params
    at.number_input(key="cfg.seed").set_value(9).run()
    assert at.query_params["seed"] == "9"
    at.radio(key="cfg.algo").set_value("actor-critic").run()
    assert at.query_params["algo"] == "actor-critic"
    at.selectbox(key="cfg.preset").set_value("actor-critic-lesson").run()
    assert at.query_params["preset"] == "actor-critic-lesson"
    at.number_input(key="cfg.seed").set_value(0).run()
    assert "seed" not in at.query_params
    assert at.number_input(key="cfg.seed").value == 0


def test_a_link_made_from_the_url_opens_the_same_setup():
    at = open_page(TRAIN)
    at.radio(key="cfg.algo").set_value("ppo").run()
    at.select_slider(key="cfg.lr").set_value(0.01).run()
    at.number_input(key="cfg.seed").set_value(4).run()
    copied = dict(at.query_params)
    again = open_page(TRAIN, **copied)
    assert again.radio(key="cfg.algo").value == "ppo"
    assert again.select_slider(key="cfg.lr").value == pytest.approx(0.01)
    assert again.number_input(key="cfg.seed").value == 4
    assert dict(again.query_params) == copied


def test_bad_link_values_warn_once_each_and_use_the_defaults():
    at = open_page(TRAIN, algo="trpo", lr="fast", seed="-4", learning_rate="0.1")
    found = warnings(at)
    assert len(found) == 4, found
    assert all("\n" not in w and "Traceback" not in w for w in found)
    assert any("`algo=trpo`" in w and "unknown algorithm 'trpo'" in w for w in found)
    assert any("`lr=fast`" in w for w in found)
    assert any("`seed=-4`" in w for w in found)
    assert any("`learning_rate`" in w and "not a setting" in w for w in found)
    assert at.radio(key="cfg.algo").value == "reinforce"
    assert at.number_input(key="cfg.seed").value == 0
    assert not at.error and "lr" not in at.query_params and "learning_rate" not in at.query_params


def test_bad_link_values_are_listed_in_one_box_at_the_top_of_the_page():
    at = open_page(TRAIN, seed="1e99", max_episodes="5", hidden="1e99", gae_lambda="0.9",
                   algo="reinforce")
    boxes = warning_boxes(at)
    assert len(boxes) == 1 and not [w for w in at.warning if w not in boxes]
    kinds = [getattr(e, "type", "") for e in at.main]  # depth first: top of the page first
    assert kinds.index("title") < kinds.index("warning") < kinds.index("subheader")
    assert at.subheader[0].value == "Settings"  # the box is above the settings column
    found = warnings(at)
    assert len(found) == 4, found
    seed = next(w for w in found if "`seed=1e99`" in w)
    assert "from 0 to 2,147,483,647" in seed and "0" * 20 not in boxes[0].value
    assert "1e+99" in next(w for w in found if "`hidden=1e99`" in w)  # not 100 digits
    budget = next(w for w in found if "`max_episodes=5`" in w)
    assert "a whole number from 10 to 20,000" in budget  # the widget's range, said once
    assert "1,000,000,000" not in budget and "1000000000" not in budget
    assert any("`gae_lambda`" in w and "not a setting of REINFORCE" in w for w in found)
    assert at.number_input(key="cfg.seed").value == 0
    assert at.number_input(key="cfg.max_episodes").value == 1000


def test_a_long_bad_value_is_abbreviated():
    at = open_page(TRAIN, seed="7" * 100, activation="x" * 300)
    found = warnings(at)
    assert any("`seed=7.77778e+99`" in w for w in found), found
    assert any("`activation=" + "x" * 23 + "…`" in w for w in found), found
    assert all(len(w) < 300 for w in found)


def test_reset_restores_the_links_values_not_the_presets():
    """The tooltip says so: what the link set comes back, the rest is the preset's."""
    at = open_page(TRAIN, algo="a2c", max_episodes="400", seed="3", lock="lr")
    reset = at.button(key="cfg_reset")
    assert "seed, episode budget" in reset.help and "link's values" in reset.help
    at.number_input(key="cfg.seed").set_value(5).run()
    at.number_input(key="cfg.max_episodes").set_value(700).run()
    at.select_slider(key="cfg.gamma").set_value(0.9).run()
    at.button(key="cfg_reset").click().run()
    assert at.number_input(key="cfg.seed").value == 3
    assert at.number_input(key="cfg.max_episodes").value == 400
    assert at.select_slider(key="cfg.gamma").value == pytest.approx(
        PRESETS["a2c"].config().gamma)  # not set by the link: the preset's
    assert dict(at.query_params) == {"algo": "a2c", "max_episodes": "400", "seed": "3",
                                     "lock": "lr"}


def test_reset_without_a_link_goes_back_to_the_preset():
    at = open_page(TRAIN)
    assert at.button(key="cfg_reset").help.startswith("Back to the selected preset's values")
    at.number_input(key="cfg.seed").set_value(5).run()
    at.button(key="cfg_reset").click().run()
    assert at.number_input(key="cfg.seed").value == 0


def test_a_setting_of_another_algorithm_is_ignored_with_a_warning():
    at = open_page(TRAIN, algo="reinforce", n_steps="16")
    found = warnings(at)
    assert len(found) == 1 and "`n_steps`" in found[0], found
    assert "n_steps" not in at.query_params


def test_locked_controls_are_disabled_and_keep_their_value_through_preset_and_reset():
    at = open_page(TRAIN, algo="actor-critic", lr="0.01", gamma="0.9", lock="lr,gamma")
    lr, gamma = at.select_slider(key="cfg.lr"), at.select_slider(key="cfg.gamma")
    assert lr.disabled and gamma.disabled and lr.value == pytest.approx(0.01)
    assert not at.number_input(key="cfg.seed").disabled
    assert any("Set by your teacher's link" in c.value for c in at.caption)
    assert links.LOCK_NOTE in (lr.help or "")
    at.selectbox(key="cfg.preset").set_value("actor-critic-lesson").run()  # lr 3e-4 there
    assert at.number_input(key="cfg.shared_layers").value == 1  # the preset did load
    assert at.select_slider(key="cfg.lr").value == pytest.approx(0.01)
    assert at.select_slider(key="cfg.gamma").value == pytest.approx(0.9)
    at.number_input(key="cfg.seed").set_value(5).run()
    at.button(key="cfg_reset").click().run()
    assert at.number_input(key="cfg.seed").value == 0  # not locked: reset
    assert at.select_slider(key="cfg.lr").value == pytest.approx(0.01)  # locked: stays
    assert at.query_params["lock"] == "lr,gamma"
    # a learner's link says what is locked; there is no builder to unlock it
    assert not [w for w in at.multiselect if w.key and w.key.startswith("links.")]


def test_a_locked_algorithm_cannot_be_switched():
    at = open_page(TRAIN, algo="dqn", lock="algo")
    assert at.radio(key="cfg.algo").disabled and at.radio(key="cfg.algo").value == "dqn"


def test_a_hidden_algorithm_stays_through_reruns_and_its_presets_still_work():
    at = open_page(TRAIN, algo="dqn", hide="algo")
    assert "cfg.algo" not in [w.key for w in at.radio]
    at.number_input(key="cfg.seed").set_value(3).run()
    at.number_input(key="cfg.seed").set_value(4).run()
    assert at.session_state["cfg.algo"] == "dqn"
    assert at.selectbox(key="cfg.preset").value in PRESETS
    assert PRESETS[at.selectbox(key="cfg.preset").value].values["algo"] == "dqn"
    assert "double" in [w.key.removeprefix("cfg.") for w in at.checkbox if w.key]
    assert at.query_params["hide"] == "algo" and at.query_params["seed"] == "4"


def test_hidden_controls_are_not_drawn_but_their_value_applies():
    at = open_page(TRAIN, algo="a2c", entropy_beta="0.05", hide="entropy_beta")
    assert "cfg.entropy_beta" not in [w.key for w in at.select_slider]
    assert at.session_state["cfg.entropy_beta"] == pytest.approx(0.05)
    at.selectbox(key="cfg.preset").set_value(at.selectbox(key="cfg.preset").options[-1]).run()
    at.button(key="cfg_reset").click().run()
    assert at.session_state["cfg.entropy_beta"] == pytest.approx(0.05)
    assert at.query_params["hide"] == "entropy_beta"
    assert at.query_params["entropy_beta"] == "0.05"


def test_the_teachers_builder_makes_a_locking_link():
    at = open_page(TRAIN, algo="a2c")
    open_share_dialog(at)
    at.multiselect(key="links.train.pick_lock").set_value(["lr"]).run()
    at.multiselect(key="links.train.pick_hide").set_value(["seed"]).run()
    teacher = [c for c in share_links(at) if "lock=" in c]
    assert teacher and "lock=lr" in teacher[0] and "hide=seed" in teacher[0]
    assert "lock" not in at.query_params  # building a link locks nothing here


# ----- experiment pages --------------------------------------------------------------------------


@pytest.mark.parametrize("page, params, widgets", [
    ("views/reinforce/seeds_variance.py", {"rival": "a2c", "seeds": "5", "episodes": "300",
                                           "smooth": "50", "reference": "0"},
     {("radio", "exp.seeds.rival"): "a2c", ("slider", "exp.seeds.seeds"): 5,
      ("number_input", "exp.seeds.episodes"): 300, ("select_slider", "exp.seeds.smooth"): 50,
      ("toggle", "exp.seeds.reference"): False}),
    ("views/actor_critic/entropy.py", {"algo": "a2c", "beta": "0.05", "episodes": "200"},
     {("radio", "exp.entropy.algo"): "a2c", ("select_slider", "exp.entropy.beta"): 0.05,
      ("number_input", "exp.entropy.episodes"): 200}),
    ("views/actor_critic/race.py", {"seed": "7", "episodes": "400"},
     {("number_input", "exp.race.seed"): 7, ("number_input", "exp.race.episodes"): 400}),
    ("views/why/rps.py", {"steps": "1000", "lr": "0.3", "memory": "5", "seeds": "2"},
     {("select_slider", "exp.rps.steps"): 1000, ("select_slider", "exp.rps.lr"): 0.3,
      ("select_slider", "exp.rps.memory"): 5, ("slider", "exp.rps.seeds"): 2}),
    ("views/reinforce/gradient_variance.py", {"stage": "part", "train": "200", "batches": "40"},
     {("radio", "exp.gradvar.stage"): "part", ("number_input", "exp.gradvar.train.part"): 200,
      ("slider", "exp.gradvar.batches"): 40}),
    ("views/value/value_vs_policy.py", {"budget": "20000", "seeds": "2"},
     {("select_slider", "exp.value_policy.budget"): 20000,
      ("slider", "exp.value_policy.seeds"): 2}),
])
def test_an_experiment_link_round_trips(page, params, widgets, monkeypatch):
    monkeypatch.setenv("PGLAB_EXPERIMENT_MODE", "inline")
    at = open_page(page, **params)
    for (kind, key), value in widgets.items():
        got = getattr(at, kind)(key=key).value
        assert got == pytest.approx(value) if isinstance(value, float) else got == value, key
    assert not warnings(at) and not at.error
    assert dict(at.query_params) == params


def test_an_experiment_widget_change_goes_into_the_url():
    at = open_page("views/actor_critic/baseline.py")
    assert dict(at.query_params) == {}
    at.slider(key="exp.baseline.seeds").set_value(3).run()
    assert at.query_params["seeds"] == "3"
    at.slider(key="exp.baseline.seeds").set_value(5).run()  # the page's default
    assert "seeds" not in at.query_params


def test_experiment_settings_survive_a_page_switch():
    at = open_page("views/value/dqn_polyak.py")
    at.slider(key="exp.dqn_polyak.seeds").set_value(4).run()
    at.switch_page("views/reinforce/theory.py").run()
    at.query_params.clear()  # a browser drops the query string on a page switch
    at.switch_page("views/value/dqn_polyak.py").run()
    assert at.slider(key="exp.dqn_polyak.seeds").value == 4
    assert at.query_params["seeds"] == "4"


def test_experiment_bad_values_warn_and_locks_hold():
    at = open_page("views/value/dqn_overestimation.py", seeds="50", episodes="400",
                   lock="episodes,span", hide="nothing")
    found = warnings(at)
    assert any("`seeds=50`" in w for w in found), found
    assert any("`nothing`" in w for w in found), found
    assert at.slider(key="exp.dqn_over.seeds").value == 3
    assert at.number_input(key="exp.dqn_over.episodes").disabled
    assert at.radio(key="exp.dqn_over.span").disabled
    assert not at.slider(key="exp.dqn_over.seeds").disabled


def test_the_continuous_actions_page_round_trips_both_runs_settings():
    at = open_page("views/why/pendulum.py", seed="3", episodes="250", bins="3", lock="bins")
    assert at.number_input(key="pend.seed").value == 3
    assert at.select_slider(key="pend.episodes").value == 250
    bins = at.selectbox(key="pend.dqn.bins")
    assert bins.value == 3 and bins.disabled
    assert not warnings(at) and not at.error
    assert dict(at.query_params) == {"seed": "3", "episodes": "250", "bins": "3", "lock": "bins"}


def test_a_hidden_experiment_setting_is_not_drawn():
    at = open_page("views/why/smoothness.py", directions="2", hide="directions")
    assert "exp.smooth.directions" not in [w.key for w in at.slider]
    assert at.session_state["exp.smooth.directions"] == 2
    assert any("2 directions" in c.value for c in at.caption)  # the page used the value


# ----- presenter view ---------------------------------------------------------------------------


def _presenter_css(at: AppTest) -> bool:
    return any(PRESENTER_CSS.strip() in h.proto.body.strip() for h in at.get("html"))


def test_presenter_view_from_a_link_survives_page_switches_and_can_be_left():
    at = open_page(TRAIN, present="1")
    assert _presenter_css(at)
    assert not at.sidebar.markdown and not at.sidebar.button  # no sidebar clutter
    at.switch_page("views/reinforce/seeds_variance.py")
    at.query_params.clear()  # what a browser's page switch does
    at.run()
    assert _presenter_css(at) and at.query_params["present"] == "1"
    at.button(key="links.present.off").click().run()
    assert not _presenter_css(at) and "present" not in at.query_params
    assert any("Your run" in m.value for m in at.sidebar.markdown)
    at.button(key="links.present.on").click().run()  # the sidebar's way back in
    assert _presenter_css(at) and at.query_params["present"] == "1"


def test_presenter_view_makes_charts_taller_with_larger_fonts(monkeypatch):
    from ui import style

    monkeypatch.setattr(style, "presenting", lambda: True)
    spec = {"height": 300, "layer": [{"height": 120, "data": {"values": [{"height": 1}]}}],
            "vconcat": [{"height": {"step": 20}}], "title": {"text": "t", "fontSize": 10}}
    big = style.for_screen(spec)
    assert big["height"] == 480 and big["layer"][0]["height"] == 192
    assert big["layer"][0]["data"] is spec["layer"][0]["data"]  # data untouched
    assert big["vconcat"][0]["height"] == {"step": 32}
    assert big["config"]["axis"]["labelFontSize"] >= 16
    assert big["title"] == {"text": "t", "fontSize": 14}  # a font the chart sets itself
    assert spec["height"] == 300  # the original is not changed
    monkeypatch.setattr(style, "presenting", lambda: False)
    normal = style.for_screen(spec)  # as it is, but for Vega's ARIA marks (ui/style.py)
    assert normal == {**spec, "config": {"aria": False, "mark": {"aria": False}}}
    assert spec.get("config") is None


def test_presenter_view_draws_an_experiment_pages_charts_taller():
    normal = open_page("views/why/rps.py", steps="1000", seeds="2")
    normal.button(key="exp.rps.run").click().run()
    present = open_page("views/why/rps.py", steps="1000", seeds="2", present="1")
    present.button(key="exp.rps.run").click().run()
    assert not present.exception, present.exception
    small = [json.loads(c.proto.spec) for c in normal.get("vega_lite_chart")]
    big = [json.loads(c.proto.spec) for c in present.get("vega_lite_chart")]
    assert len(big) == len(small) >= 4

    def heights(spec) -> list:
        found = []

        def walk(node):
            if isinstance(node, dict):
                if isinstance(node.get("height"), (int, float)):
                    found.append(node["height"])
                for k, v in node.items():
                    if k not in ("datasets", "data"):
                        walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(spec)
        return found

    first_small, first_big = heights(small[0]), heights(big[0])
    assert first_small and max(first_big) > max(first_small)
    assert big[0]["config"]["axis"]["labelFontSize"] >= 16


def test_a_bad_present_value_warns():
    at = open_page("views/home.py", present="maybe")
    assert any("`present=maybe`" in w for w in warnings(at))
    assert not _presenter_css(at)


# ----- the parsers ------------------------------------------------------------------------------


def test_parsers_accept_what_the_widgets_take_and_name_the_rest():
    assert links.choice((0.001, 0.01))("0.01") == 0.01
    assert links.choice(("a2c", "ppo"))("PPO") == "ppo"
    with pytest.raises(links.LinkError, match="one of 0.001, 0.01"):
        links.choice((0.001, 0.01))("0.1")
    assert links.whole(2, 10)("4") == 4
    for bad in ("11", "4.5", "x", ""):
        with pytest.raises(links.LinkError, match="whole number from 2 to 10"):
            links.whole(2, 10)(bad)
    assert links.real(0, 1)("0.5") == 0.5
    for bad in ("nan", "inf", "2"):
        with pytest.raises(links.LinkError):
            links.real(0, 1)(bad)
    assert links.flag()("on") is True and links.flag()("0") is False
    assert links.span((1, 3, 10))("1,10") == (1, 10)
    with pytest.raises(links.LinkError, match="low <= high"):
        links.span((1, 3, 10))("10,1")
    assert [links.encode(v) for v in (True, None, 0.0003, 1e-05, 7, (0.1, 1.0))] == [
        "1", "off", "0.0003", "1e-05", "7", "0.1,1"]
