"""Write the HTML page template of `dvc plots show` with vega, vega-lite and vega-embed inlined,
so that the page draws its plots on machines without internet. The libraries come from npm at
the versions pinned below (the majors dvc-render 1.0 loads from a CDN: vega 5, vega-lite 5,
vega-embed 6), each tarball checked against its sha512.

    python3 tools/plots_template.py [OUT] [--optional]

--optional turns a missing npm, or npm failing to fetch, into a one-line notice and exit 0."""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGES = {
    "vega": ("5.33.1", "sha512-1fArfVDUqVbb5z8n+/nVQb+VNBzx8svY6CrsyTK4Ujm4yrd9I1auoKxBAPXLCavY1LcrbHUskQbGUP8gXOzyQw=="),
    "vega-lite": ("5.23.0", "sha512-l4J6+AWE3DIjvovEoHl2LdtCUkfm4zs8Xxx7INwZEAv+XVb6kR6vIN1gt3t2gN2gs/y4DYTs/RPoTeYAuEg6mA=="),
    "vega-embed": ("6.29.0", "sha512-PmlshTLtLFLgWtF/b23T1OwX53AugJ9RZ3qPE2c01VFAbgt3/GSNI/etzA/GzdrkceXFma+FDHNXUppKuM0U6Q=="),
}
DEFAULT_OUT = Path(__file__).resolve().parents[1] / ".dvc" / "plots-offline.html"
# dvc-render fills these in the whole page, inlined code included
PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")

# The page of dvc-render 1.0 without its CDN {scripts}; plots draw as SVG (text stays in the page).
PAGE = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>DVC Plot</title>
%s
    <script>
        (function () {
            var embed = window.vegaEmbed;
            window.vegaEmbed = function (el, spec, opt) {
                return embed(el, spec, Object.assign({renderer: "svg"}, opt));
            };
        })();
    </script>
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


class Skip(Exception):
    """npm is missing or could not fetch the packages."""


def integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def npm_error(stderr: str) -> str:
    """The first telling line of npm's error output (past its code, syscall and errno lines)."""
    lines = [line.removeprefix("npm error").strip() for line in stderr.splitlines()]
    telling = [line for line in lines if line and not re.match(r"(code|syscall|errno) \S+$", line)]
    return telling[0] if telling else "no error output"


def fetch(workdir: Path) -> dict[str, Path]:
    """The pinned tarballs, fetched by `npm pack` into workdir and checked."""
    npm = shutil.which("npm")
    if npm is None:
        raise Skip("npm not found")
    specs = [f"{name}@{version}" for name, (version, _) in PACKAGES.items()]
    done = subprocess.run([npm, "pack", "--loglevel=error", "--prefer-offline", "--fetch-retries=1",
                           "--pack-destination", str(workdir), *specs], cwd=workdir, capture_output=True, text=True)
    if done.returncode:
        raise Skip(f"npm pack {' '.join(specs)} failed: {npm_error(done.stderr)}")
    tarballs = {}
    for name, (version, expected) in PACKAGES.items():
        tarball = workdir / f"{name}-{version}.tgz"
        if not tarball.is_file():
            raise Skip(f"npm pack wrote no {tarball.name}")
        if integrity(tarball) != expected:
            sys.exit(f"error: {tarball.name} does not match its pinned sha512 in {Path(__file__).name}")
        tarballs[name] = tarball
    return tarballs


def bundle(name: str, tarball: Path) -> str:
    """The package's browser build (build/<name>.min.js), checked safe to inline."""
    member = f"package/build/{name}.min.js"
    with tarfile.open(tarball) as tar:
        try:
            code = tar.extractfile(member).read().decode("utf-8")
        except KeyError:
            sys.exit(f"error: {tarball.name} has no {member}")
    if "</script" in code.lower() or any(p in code for p in PLACEHOLDERS):
        sys.exit(f"error: {member} of {tarball.name} cannot be inlined (holds </script or a dvc-render placeholder)")
    return code


def page(tarballs: dict[str, Path]) -> str:
    scripts = "\n".join(f"    <script>/* {name} {PACKAGES[name][0]} */\n{bundle(name, tarball)}\n    </script>"
                        for name, tarball in tarballs.items())
    return PAGE % scripts


def write(out: Path) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        text = page(fetch(Path(workdir)))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.tmp"
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--optional", action="store_true", help="skip with a notice when npm is missing or fails")
    args = parser.parse_args(argv)
    try:
        write(args.out)
    except Skip as skip:
        if not args.optional:
            sys.exit(f"error: {skip}")
        print(f"plots template skipped ({skip}): dvc plots show will load vega from a CDN")
        return
    print(f"wrote {args.out} (vega {PACKAGES['vega'][0]}, vega-lite {PACKAGES['vega-lite'][0]}, "
          f"vega-embed {PACKAGES['vega-embed'][0]})")


if __name__ == "__main__":
    main()
