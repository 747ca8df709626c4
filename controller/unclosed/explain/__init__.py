"""Where a JVM's memory goes (`unclosed explain`): one breakdown of its RSS that adds up.

Three views of one process, put side by side:

- the OS view: RSS (anon / file / shmem) from /proc (proc.py), and the memory cgroup's figures
  (usage, anon, file cache, inactive file, and the working set a container metric would show:
  cgroup.py);
- the JVM view, read with the target's own `jcmd` (jcmd.py): heap, metaspace, code cache, thread
  stacks, the direct buffer pool, and Native Memory Tracking's categories when NMT is on;
- our view: native bytes held by objects the unclosed agent tracks, per family.

The breakdown (accounting.py) attributes the RSS to components without counting anything twice;
what is left is the remainder nobody accounts for, with hints drawn from the mappings (glibc
malloc arenas), the cgroup (page cache) and the JVM's flags (NMT off). gather.py collects one
report (a JSON-ready dict) or samples them over time; renderers/explain.py prints them.
"""

from .gather import explain, explain_once, watch

__all__ = ["explain", "explain_once", "watch"]
