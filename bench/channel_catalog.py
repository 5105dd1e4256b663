"""Build a catalog folder with ComfyUI-Manager's other channels, for ``bench/ranking.py --catalog-dir``.

    python bench/channel_catalog.py OUT [--manager GIT_DIR] [--commit REV] [--catalog ../shared/catalog]

The default files are linked from the shared catalog; ``node_db/dev/`` and ``node_db/legacy/`` (the files
Mend reads, ``core/catalog/store.CHANNEL_FILES``) come from a fetched ComfyUI-Manager snapshot at the
commit the shared catalog was taken from. Build it under /tmp: never commit it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from mend.core.catalog.store import ALL_FILES, OPTIONAL_FILES

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--manager", type=Path, default=Path("/work/.mirror/Comfy-Org+ComfyUI-Manager/repo"))
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--catalog", type=Path, default=HERE.parent.parent / "shared" / "catalog")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in ALL_FILES:
        link = args.out / name
        if not link.exists() and (args.catalog / name).is_file():
            link.symlink_to((args.catalog / name).resolve())
    for name in OPTIONAL_FILES:
        shown = subprocess.run(["git", "--git-dir", str(args.manager), "show", f"{args.commit}:{name}"],
                               capture_output=True)
        if shown.returncode != 0:
            print(f"{name}: not at {args.commit} ({shown.stderr.decode().strip()})")
            continue
        (args.out / name).parent.mkdir(parents=True, exist_ok=True)
        (args.out / name).write_bytes(shown.stdout)
        print(f"{name}: {len(shown.stdout)} bytes from {args.commit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
