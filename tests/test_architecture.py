"""House rules: the import direction, lean start-up imports, complete catalogs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from agent_console import i18n
from agent_console.services.catalog import load_catalog

SRC = Path(__file__).parent.parent / "src" / "agent_console"
HEADLESS = ["agent_console.services.sla", "agent_console.services.tickets",
            "agent_console.services.queue", "agent_console.services.directory",
            "agent_console.services.demo", "agent_console.models.tables",
            "agent_console.models.read", "agent_console.db", "agent_console.clock",
            "agent_console.config", "agent_console.i18n", "agent_console.formatting",
            "agent_console.services.knowledge", "agent_console.services.permissions",
            "agent_console.services.cjk", "agent_console.models.kb", "agent_console.kb_cli",
            "agent_console.services.classifier", "agent_console.classify_cli",
            "agent_console.services.scripts", "agent_console.services.script_run",
            "agent_console.services.intake", "agent_console.services.audit",
            "agent_console.services.auth", "agent_console.admin_cli",
            "agent_console.services.web_session", "agent_console.serve_session"]


def _imports(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_services_models_and_core_never_import_textual():
    modules = _imports("\n".join(f"import {m}" for m in HEADLESS))
    assert "textual" not in modules


def test_the_queue_read_path_does_not_load_sqlmodel():
    modules = _imports("import agent_console.services.queue, agent_console.services.directory, "
                       "agent_console.cli")
    assert "sqlmodel" not in modules and "textual" not in modules


def test_widgets_never_touch_services_or_the_store():
    for path in (SRC / "widgets").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("agent_console.services.tickets",
                                                   "agent_console.services.queue",
                                                   "agent_console.db", "sqlite3", "sqlmodel")), path


def test_catalogs_have_the_same_keys_and_placeholders():
    import string

    en, zh = i18n.catalog("en"), i18n.catalog("zh")
    assert set(en) == set(zh), set(en) ^ set(zh)
    for key in en:
        fields_en = {f for _, f, _, _ in string.Formatter().parse(en[key]) if f}
        fields_zh = {f for _, f, _, _ in string.Formatter().parse(zh[key]) if f}
        assert fields_en == fields_zh, key
        assert "[" not in en[key] and "[" not in zh[key], f"{key} looks like markup"


def test_every_binding_has_a_description_and_help_in_both_languages():
    import agent_console.app as app_module
    from agent_console.screens import (
        assign_screen,
        case_edit_screen,
        choice_screen,
        help_screen,
        intake_screen,
        knowledge_screen,
        note_screen,
        parked_screen,
        queue_screen,
        status_screen,
        ticket_screen,
    )
    from agent_console.widgets import ticket_table

    classes = [app_module.AgentConsoleApp, assign_screen.AssignScreen, choice_screen.ChoiceScreen,
               help_screen.HelpScreen, note_screen.NoteScreen, queue_screen.QueueScreen,
               status_screen.StatusScreen, ticket_screen.TicketScreen, ticket_table.TicketTable,
               knowledge_screen.KnowledgeScreen, case_edit_screen.CaseEditScreen,
               intake_screen.IntakeScreen, parked_screen.ParkedScreen]
    for lang in ("en", "zh"):
        messages = i18n.catalog(lang)
        for cls in classes:
            for binding in cls.BINDINGS:
                assert binding.id, f"{cls.__name__} {binding.key} has no id"
                assert f"key.{binding.id}" in messages, (lang, binding.id)
                if cls is not help_screen.HelpScreen:
                    assert f"keyhelp.{binding.id}" in messages, (lang, binding.id)


def test_vocabulary_has_labels_and_categories_have_names():
    from agent_console.models.vocab import Channel, Grade, Role, Status, Tier, WorkType

    for lang in ("en", "zh"):
        messages = i18n.catalog(lang)
        for kind, enum in (("channel", Channel), ("grade", Grade), ("status", Status),
                           ("tier", Tier), ("work_type", WorkType), ("role", Role)):
            for member in enum:
                assert f"{kind}.{member.value}" in messages, (lang, kind, member)
    catalog = load_catalog()
    for category in catalog.categories.values():
        assert category.name_en and category.name_zh and category.department in catalog.departments


def test_start_up_does_not_load_pydantic_or_the_classifier():
    modules = _imports("import agent_console.cli")
    assert "pydantic" not in modules and "agent_console.services.classifier" not in modules
