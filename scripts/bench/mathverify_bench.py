"""Runs Hugging Face Math-Verify on the pairs `envrun bench verify` hands it, in one process, one core.

Input: a JSON Lines file of {"gold": answer, "pred": whole response}. Output (stdout): one JSON object with
the wall time of the checking loop (parse + verify, after a warm-up on the first pair) and one boolean per pair.
The gold answer is wrapped in `$…$` so Math-Verify's LaTeX extractor reads it as an answer, as its README does.
"""
import json
import sys
import time

from math_verify import parse, verify


def check(gold: str, pred: str) -> bool:
    try:
        g = parse("$" + gold + "$")
        p = parse(pred)
        return bool(verify(g, p))
    except Exception:  # Math-Verify itself swallows most errors; count anything left as "not equivalent"
        return False


def main() -> None:
    pairs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
    if pairs:
        check(pairs[0]["gold"], pairs[0]["pred"])  # import-time warm-up, not timed
    results = []
    start = time.perf_counter()
    for p in pairs:
        results.append(check(p["gold"], p["pred"]))
    seconds = time.perf_counter() - start
    json.dump({"seconds": seconds, "results": results}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
