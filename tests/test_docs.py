"""README and `--help` stay in step: every command the CLI has is documented."""

from pipeline.cli import build_parser
from tests.conftest import REPO


def test_every_command_is_in_the_readme():
    readme = (REPO / "README.md").read_text()
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    missing = [name for name in commands if f"pricewatch {name}" not in readme]
    assert missing == []
