"""``fbtime invoice``: a dry run by default, names in the plan, ``--apply`` confirmed by the
count, then ``fbtime resume`` and ``fbtime undo`` of its journal."""

from __future__ import annotations

import fbtime
from fbtime.cli import main
from tests.integration.invoicing import DAY, END, assert_billed_once, plan_for


def use_sandbox(monkeypatch, sb, tmp_path):
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.token)
    monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", str(sb.business_id))
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))


def test_invoice_dry_run_apply_resume_undo(monkeypatch, tmp_path, capsys):
    with fbtime.Sandbox(entries=150, seed=1, end=END) as sb:
        use_sandbox(monkeypatch, sb, tmp_path)
        args = ["invoice", "--team", "--standard-rate", "100", "--date", DAY.isoformat()]
        sb.reset_stats()
        assert main([*args, "--save", str(tmp_path / "plan.json")]) == 0
        out = capsys.readouterr().out
        plan = plan_for(sb)
        assert f"InvoicePlan: {len(plan)} draft invoices, {plan.entry_count} entries" in out
        assert all(name in out for name in plan.invoices["client_name"])  # names, not ids
        assert all(name in out for name in plan.entries["teammate"].dropna().unique()[:3])
        assert "dry run: nothing was sent" in out
        writes = sum(n for k, n in sb.stats().items() if not k.startswith("GET"))
        assert writes == 0
        saved = fbtime.InvoicePlan.load(tmp_path / "plan.json")
        assert saved.lines["amount"].tolist() == plan.lines["amount"].tolist()
        assert saved.entries.index.tolist() == plan.entries.index.tolist()

        assert main([*args, "--apply"]) == 1  # no terminal to confirm at, no --yes
        assert "pass --yes" in capsys.readouterr().err
        journals = tmp_path / "journals"
        assert main([*args, "--apply", "--yes", "--journal-dir", str(journals)]) == 0
        out = capsys.readouterr().out
        assert f"{len(plan)} created" in out
        assert_billed_once(sb, plan)
        (journal,) = journals.glob("*-invoice-*.jsonl")
        assert main(["resume", str(journal)]) == 0  # nothing left: nothing sent again
        assert sb.stats()["POST invoices"] == len(plan)

        assert main(["undo", str(journal)]) == 0
        assert "InvoiceUndo" in capsys.readouterr().out
        assert main(["undo", str(journal), "--apply", "--yes", "--journal-dir", str(journals)]) == 0
        assert f"{len(plan)} deleted" in capsys.readouterr().out
        assert all(i["vis_state"] == 1 for i in sb.invoices())
        assert not sb.entries().set_index("id").loc[plan.entries.index, "billed"].any()


def test_bad_options_exit_2_before_any_request(monkeypatch, tmp_path, capsys):
    with fbtime.Sandbox(entries=100, seed=1, end=END) as sb:
        use_sandbox(monkeypatch, sb, tmp_path)
        sb.reset_stats()
        assert main(["invoice", "--started-from", "soon"]) == 2
        assert "started_from" in capsys.readouterr().err
        assert sum(sb.stats().values()) == 0


def test_a_saved_invoice_plan_is_shown_and_applied(monkeypatch, tmp_path, capsys):
    with fbtime.Sandbox(entries=150, seed=1, end=END) as sb:
        use_sandbox(monkeypatch, sb, tmp_path)
        saved = plan_for(sb).save(tmp_path / "invoices.json")
        assert main(["plan", "show", str(saved)]) == 0
        out = capsys.readouterr().out
        assert out.startswith("InvoicePlan: ") and "sha256 " in out and "age: " in out
        journals = tmp_path / "journals"
        assert main(["apply", str(saved), "--yes", "--journal-dir", str(journals)]) == 0
        assert_billed_once(sb, fbtime.InvoicePlan.load(saved))
        assert "journal " in capsys.readouterr().err  # shown as the run starts
