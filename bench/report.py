"""The README's results table, made from ``bench/results.json`` (never typed in).

``python bench/report.py`` prints the markdown that README.md holds between its
``<!-- bench:start -->`` and ``<!-- bench:end -->`` markers; ``--write`` puts it
there. Every benchmark calls ``write_readme()`` when it saves its results
(``common.save``), so a run of ``make bench``, or of one benchmark, leaves the two in
agreement; ``tests/test_bench_results.py`` checks they are.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def report(results: dict) -> str:
    per_job, stream = results["per_job_overhead"], results["streaming"]
    cold, conc = results["cold_start"], results["concurrency"]
    m = per_job["machine"]
    r2 = f"runpod {m.get('runpod_second_line', '2.0.0rc2')}"
    rows = [
        ("per-job overhead, no-op handler, one job at a time (ms)", per_job["median"], [
            "SDK --rp_serve_api server", "SDK worker, stock config", "SDK worker, our config",
            "SDK worker, our config, random arrivals", "our config + poll patch (bench only)",
            "loopback floor (no SDK)", f"{r2}, stock config", f"{r2}, our config"]),
        ("per-job overhead, 8 clients at once (ms per job)", per_job["concurrent_8"]["median"], [
            "SDK worker, stock config", "SDK worker, our config", "loopback floor (no SDK)",
            f"{r2}, stock config", f"{r2}, our config"]),
        (f"streaming, {stream['max_tokens']} tokens (tokens/s)", stream["median"], [
            "plain model.generate", "our handler, in process", "end to end, fast /stream polling",
            "end to end, SDK Job.stream()", f"end to end, fast /stream polling, {r2}"]),
        ("time to the first chunk (ms)", {k: v["median"] for k, v in stream["first_chunk_ms"].items()},
         list(stream["first_chunk_ms"])),
        ("cold start to first job done (s)", cold["median"], cold["contenders"]),
        ("64 async jobs of 0.1 s at concurrency 8 (s)", conc["median"], conc["contenders"]),
        ("8 concurrent generation requests (total tokens/s)", conc["batching_tokens_per_s"]["median"],
         list(conc["batching_tokens_per_s"]["median"])),
    ]
    oa = results.get("openai_streaming")
    if oa:
        rows += [
            (f"OpenAI streaming, {oa['max_tokens']} tokens, official client (tokens/s)", oa["median"], oa["contenders"]),
            ("time to the first text, OpenAI and native (ms)",
             {k: v["median"] for k, v in oa["first_text_ms"].items()}, list(oa["first_text_ms"])),
        ]
    lines = [f"Measured with `make bench` on {m['cpu']} ({m['cores']} cores, GPU: {m['gpu'] or 'none'}), "
             f"runpod {m['runpod']} (the workers of the \"{r2}\" rows: {r2}), torch {m['torch']}, "
             f"transformers {m['transformers']}; medians of interleaved repetitions (p95s in "
             f"`bench/results.json`).", "",
             "| benchmark | contender | median |", "|---|---|---:|"]
    for title, medians, names in rows:
        names = [n for n in names if n in medians]  # results.json from before the 2.0 contenders
        for i, name in enumerate(names):
            lines.append(f"| {title if i == 0 else ''} | {name} | {_fmt(medians[name])} |")
    lines += ["", "| target | measured | limit | met |", "|---|---:|---:|:---:|"]
    for result in (per_job, stream, cold, conc) + ((oa,) if oa else ()):
        for t in result["targets"].values():
            sign = ">=" if t["higher_is_better"] else "<="
            lines.append(f"| {t['what']} | {t['value']:.3g} | {sign} {t['limit']} | {'yes' if t['met'] else '**no**'} |")
    return "\n".join(lines)


SECTION = re.compile(re.escape(START) + r"\n(.*?)\n?" + re.escape(END), re.S)


def readme_section(readme: str) -> str:
    match = SECTION.search(readme)
    return match.group(1).rstrip("\n") if match else ""


def write_readme(results_path: Path = ROOT / "bench" / "results.json",
                 readme_path: Path = ROOT / "README.md") -> str:
    """Put the table made from ``results_path`` into ``readme_path``; returns it."""
    table = report(json.loads(results_path.read_text()))
    readme = readme_path.read_text()
    if START not in readme:
        raise SystemExit(f"{readme_path.name} has no {START} marker")
    readme_path.write_text(SECTION.sub(lambda _: f"{START}\n{table}\n{END}", readme, count=1))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the table in README.md")
    args = parser.parse_args()
    if args.write:
        print(write_readme())
    else:
        print(report(json.loads((ROOT / "bench" / "results.json").read_text())))


if __name__ == "__main__":
    main()
