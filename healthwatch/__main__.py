"""``python -m healthwatch``: the same command line as the ``healthwatch`` script."""

import sys

try:
    from healthwatch.cli import main
except Exception as exc:  # a broken installation: still one bilingual line, no traceback
    print(
        f"healthwatch 无法启动（{type(exc).__name__}: {exc}），请检查安装 / "
        f"healthwatch cannot start ({type(exc).__name__}: {exc}); check the installation.",
        file=sys.stderr,
    )
    sys.exit(1)

main()
