"""`python -m lib.config show|get KEY|set KEY VALUE|unset KEY`: see lib.config.cli."""
from lib.config.cli import main

raise SystemExit(main())
