"""Leaving the process group: under torchrun every process waits for the others before it closes.

(A process that closed its gloo connections while its peer was still writing results could be aborted as it
exited, SIGABRT, failing a run whose results were right: CI saw it once in `xlpt evaluate` under torchrun.)
"""

from __future__ import annotations

import json
import textwrap

WORKER = textwrap.dedent("""
    import json, sys, time
    import torch
    from xlpt.distributed import finish, setup

    context = setup("cpu")
    if context.is_main:
        time.sleep(1.0)  # rank 0 still has work (writing results) when rank 1 is done
    before = time.time()
    finish()
    record = {"rank": context.rank, "before": before, "after": time.time(),
              "joined_after": torch.distributed.is_initialized()}
    with open(sys.argv[1] + f".{context.rank}", "w") as handle:
        json.dump(record, handle)
""")


def test_finish_waits_for_every_process_then_leaves_the_group(tmp_path, torchrun):
    script, out = tmp_path / "worker.py", tmp_path / "times"
    script.write_text(WORKER)
    torchrun.run(str(script), str(out))
    main, other = (json.loads((tmp_path / f"times.{rank}").read_text()) for rank in (0, 1))
    assert other["after"] >= main["before"]  # rank 1 left only once rank 0 had reached the end
    assert other["after"] - other["before"] >= 0.5
    assert not main["joined_after"] and not other["joined_after"]
