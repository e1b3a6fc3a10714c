"""The benchmark table's verdicts: a figure beside its target, met or missed."""

from bench.report import markdown, rows


def test_verdicts_follow_each_targets_direction():
    verdicts = {
        key: verdict
        for key, _what, _value, _target, verdict in rows(
            {"overhead_ratio_10x": 1.6, "load_throughput_ratio": 0.9, "idle_pss_mb": 999.0}
        )
    }
    assert verdicts == {
        "overhead_ratio_10x": "MISSED",
        "load_throughput_ratio": "met",
        "idle_pss_mb": "met",
    }


def test_markdown_lists_figures_without_target_too():
    text = markdown({"cost_prod_usd_month": 108.74, "measured": {"at": "x"}})
    assert "`cost_prod_usd_month` | 108.7 USD/month |  |  |" in text
