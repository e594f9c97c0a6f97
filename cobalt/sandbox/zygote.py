"""The in-sandbox supervisor ("zygote") of one program.

This file is run *inside* the sandbox as ``python -I -S -X int_max_str_digits=0 -c <this source>``.
It must stay standard-library only and cheap to start: it avoids ``json``, ``signal``,
``traceback`` and ``types`` (each costs milliseconds to import, paid once per program).

Life of a zygote:
1. make itself non-dumpable (no ptrace or /proc/<pid>/mem from its children), become a child
   subreaper (orphaned grandchildren come back to it and can be killed), announce readiness;
2. ``load``: compile the program once as ``solution.py`` and import the standard-library modules
   the program imports, so that tests do not pay for them;
3. ``test`` (repeated): write the input to a memfd, fork a child that applies the rlimits, binds
   the memfds to fds 0/1/2 and runs the program; wait with a wall-clock deadline; kill every
   remaining descendant; report exit status, resource usage and the (capped) outputs.

The zygote never sees expected outputs: the trusted parent compares. Messages from the parent are
``marshal``-encoded (the parent is trusted); replies are fixed ``struct`` layouts plus raw bytes,
which the parent parses defensively.
"""

import _signal
import marshal
import os
import sys
import time

FRAME = ">I"
# Reply to a test: exit code, signal, timed out, cpu s, wall s, s spent waiting for a CPU, max rss kB,
# stdout/stderr/result sizes as written by the program, then the number of bytes of each that follow,
# then flags.
TEST_REPLY = ">iiBdddqQQQIIIB"
FLAG_UNCLEAN = 1  # a descendant survived the clean-up; the parent must discard this sandbox

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

WORKDIR = "/tmp/work"
SOLUTION = "solution.py"
# Imported by a program, these would act on the zygote (browsers, GUIs, printing to the console).
NO_PREIMPORT = frozenset({"this", "antigravity", "idlelib", "tkinter", "turtle", "turtledemo", "webbrowser"})


def read_exact(fd, n):
    """Exactly ``n`` bytes read from ``fd``; raises ``EOFError`` when the stream ends first."""
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def write_all(fd, data):
    """Write all of ``data`` to ``fd``, however many ``os.write`` calls that takes."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def send(fd, kind, payload=b""):
    """Send one frame to the parent: its big-endian 4-byte length, the one-byte ``kind``, then ``payload``."""
    import struct

    write_all(fd, struct.pack(FRAME, len(payload) + 1) + kind + payload)


def receive(fd):
    """The parent's next message, a length-prefixed ``marshal`` frame; raises ``EOFError`` once the parent closed
    the channel."""
    import struct

    (size,) = struct.unpack(FRAME, read_exact(fd, 4))
    return marshal.loads(read_exact(fd, size))


_prctl = []


def prctl(option, value):
    """Call the prctl system call with ``option`` and ``value`` through the bare ``_ctypes`` module (the
    ``ctypes`` package costs ~3 ms to import); True when the call succeeded."""
    try:
        if not _prctl:
            import _ctypes

            class Int(_ctypes._SimpleCData):
                _type_ = "i"

            class Function(_ctypes.CFuncPtr):
                _flags_ = _ctypes.FUNCFLAG_CDECL
                _restype_ = Int

            _prctl.append(Function(_ctypes.dlsym(_ctypes.dlopen(None), "prctl")))
        return _prctl[0](option, value, 0, 0, 0) == 0
    except Exception:
        return False


# Landlock (process tier only: without namespaces it is the filesystem and network isolation).
LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF = 444, 445, 446  # same on x86-64 and arm64
LANDLOCK_RULE_PATH_BENEATH = 1
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1, 2, 4, 8
FS_ALL_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2


def landlock(read_paths, write_paths):
    """Confine this process and its future children: read and execute only ``read_paths``, write
    only under ``write_paths``, no TCP (ABI >= 4), no abstract Unix sockets or signals outside
    (ABI >= 6). Returns the ABI version used, or 0 when the kernel has no Landlock."""
    import ctypes
    import struct

    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(LANDLOCK_CREATE_RULESET, None, 0, 1)
    if abi < 1:
        return 0
    handled_fs = FS_ALL_BY_ABI.get(abi, (1 << 16) - 1)
    handled_net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    attr = struct.pack("=QQQ", handled_fs, handled_net, scoped)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = libc.syscall(LANDLOCK_CREATE_RULESET, ctypes.c_char_p(attr[:size]), size, 0)
    if ruleset < 0:
        return 0
    reading = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
    rules = [(path, reading) for path in read_paths] + [(path, handled_fs) for path in write_paths]
    for path, access in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        if not os.path.isdir(path):
            access &= FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | (1 << 14)  # rights that apply to files
        rule = struct.pack("=Qi", access, fd)
        libc.syscall(LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.c_char_p(rule), 0)
        os.close(fd)
    restricted = libc.syscall(LANDLOCK_RESTRICT_SELF, ruleset, 0) == 0
    os.close(ruleset)
    return abi if restricted else 0


class Quitter:
    """``exit``/``quit`` as ``site`` defines them: ``-S`` skips ``site``, programs still call them."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "Use %s() or Ctrl-D (i.e. EOF) to exit" % self.name

    def __call__(self, code=None):
        """Close stdin and exit with ``code``, as ``site``'s version does."""
        try:
            sys.stdin.close()
        except Exception:
            pass
        raise SystemExit(code)


# ---------------------------------------------------------------------------------------------
# Tracebacks: Python's format, with the program as "solution.py" and its own line numbers, and
# without the zygote's frames. Written here because importing `traceback` costs ~7 ms per program.


def source_line(filename, lineno, program_lines):
    """Line ``lineno`` of ``filename``, stripped (the program's own lines for ``solution.py``); empty when it
    cannot be read."""
    if filename == SOLUTION:
        lines = program_lines
    else:
        try:
            with open(filename, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError:
            return ""
    if 1 <= lineno <= len(lines):
        return lines[lineno - 1].strip()
    return ""


def exception_only(exc):
    """The closing lines of a traceback: the exception's name (module-qualified outside builtins) and message,
    after the offending line and a caret for a ``SyntaxError``."""
    name = type(exc).__qualname__
    module = type(exc).__module__
    if module not in ("builtins", "__main__"):
        name = module + "." + name
    try:
        text = str(exc)
    except Exception:
        text = "<exception str() failed>"
    lines = []
    if isinstance(exc, SyntaxError) and exc.lineno is not None:
        lines.append('  File "%s", line %d\n' % (exc.filename or SOLUTION, exc.lineno))
        if exc.text:
            code = exc.text.rstrip("\n")
            stripped = code.lstrip()
            lines.append("    %s\n" % stripped)
            if exc.offset:
                caret = max(0, exc.offset - 1 - (len(code) - len(stripped)))
                lines.append("    %s^\n" % (" " * caret))
        text = exc.msg
    lines.append("%s: %s\n" % (name, text) if text else "%s\n" % name)
    return lines


def format_exception(exc, program_lines, seen=None):
    """Python's traceback lines for ``exc``, its cause or context first, starting at the program's first frame.

    ``seen`` holds the ids of exceptions already printed, so that a cycle of causes ends.
    """
    seen = seen if seen is not None else set()
    seen.add(id(exc))
    lines = []
    cause, context = exc.__cause__, exc.__context__
    if cause is not None and id(cause) not in seen:
        lines += format_exception(cause, program_lines, seen)
        lines.append("\nThe above exception was the direct cause of the following exception:\n\n")
    elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
        lines += format_exception(context, program_lines, seen)
        lines.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != SOLUTION:
        tb = tb.tb_next  # the zygote's own frames mean nothing to the program's author
    if tb is not None:
        lines.append("Traceback (most recent call last):\n")
        while tb is not None:
            code = tb.tb_frame.f_code
            lines.append('  File "%s", line %s, in %s\n' % (code.co_filename, tb.tb_lineno, code.co_name))
            text = source_line(code.co_filename, tb.tb_lineno or 0, program_lines)
            if text:
                lines.append("    %s\n" % text)
            tb = tb.tb_next
    return lines + exception_only(exc)


# ---------------------------------------------------------------------------------------------
# Loading a program


def imported_modules(code):
    """Top-level module names of every ``import`` in ``code`` and its nested functions."""
    import opcode

    import_name = opcode.opmap["IMPORT_NAME"]
    extended = opcode.EXTENDED_ARG
    found, stack = set(), [code]
    while stack:
        current = stack.pop()
        raw, arg = current.co_code, 0
        for i in range(0, len(raw), 2):
            op, arg = raw[i], raw[i + 1] | (arg << 8)
            if op == import_name and current.co_names[arg]:
                found.add(current.co_names[arg].partition(".")[0])
            if op != extended:
                arg = 0
        stack.extend(const for const in current.co_consts if hasattr(const, "co_code"))
    return found


def preimport(names):
    """Import the named modules into the zygote so that every test inherits them; modules in
    :data:`NO_PREIMPORT` or already loaded are skipped, and import failures are ignored."""
    for name in sorted(names):
        if name in NO_PREIMPORT or name in sys.modules:
            continue
        try:
            __import__(name)
        except BaseException:
            pass  # the program will meet the same error in its own run


class Program:
    """A program compiled once as ``solution.py``: its mode (``stdio`` or ``call``), function name, source lines
    and the standard streams its test children use."""

    def __init__(self, request):
        self.mode = request["mode"]
        self.fn_name = request.get("fn_name")
        self.source = request["source"]
        self.lines = self.source.splitlines()
        self.code = compile(self.source, SOLUTION, "exec", dont_inherit=True)
        self.streams = standard_streams()


def load(request):
    """Compile the program of a ``load`` request and preimport the modules it needs. Returns ``(program, "")``,
    or ``(None, error text)`` when it does not compile."""
    try:
        program = Program(request)
    except BaseException as exc:  # SyntaxError, ValueError (NUL byte), MemoryError, RecursionError
        return None, "".join(exception_only(exc))
    wanted = set(request.get("preimport", ())) | {"atexit"}
    if program.mode == "call":
        wanted.update(("json", "typing"))
    preimport(wanted | imported_modules(program.code))
    import gc

    gc.collect()
    gc.freeze()  # keep the zygote's objects out of the children's collections: fewer copied pages
    return program, ""


# ---------------------------------------------------------------------------------------------
# Running one test: everything below `run_child` happens in the forked child.


def system_exit_code(exc):
    """The exit status the interpreter gives ``SystemExit(code)``: 0 for None, an int modulo 256, else 1 after
    printing ``code`` to stderr."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(str(code) + "\n")
    except Exception:
        pass
    return 1


def finish(code, streams=()):
    """Exit the way the interpreter does: join threads, run atexit hooks, flush the standard streams as
    ``flush_std_files`` does, flush what finalization would (see :func:`flush_leftover_writers`), then leave."""
    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()
        except BaseException:
            pass
    try:
        import atexit

        atexit._run_exitfuncs()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        # As CPython's flush_std_files: a stream set to None or closed by the program is skipped.
        if stream is None or is_closed(stream):
            continue
        try:
            stream.flush()
        except BaseException:
            code = code or 120  # what CPython returns when the final flush fails
    flush_leftover_writers(streams)
    os._exit(code)


def is_closed(stream):
    """Whether ``stream`` says it is closed; one without a readable ``closed`` is open, as CPython decides."""
    try:
        return bool(stream.closed)
    except BaseException:
        return False


def flush_leftover_writers(streams):
    """Flush what the interpreter's finalization would before ``os._exit`` skips it.

    A plain interpreter destroys every object at exit, and a file object's destructor flushes it:
    output printed to ``sys.__stdout__`` after ``sys.stdout`` was replaced, or written to a
    forgotten ``open(1, "w")`` or a FastIO wrapper kept in a global, still comes out. Writers that
    went out of scope earlier flushed themselves then; those left are the standard streams built in
    the zygote (``streams``) and the file objects in the program's globals (looking only there keeps
    this free: a scan of every live object costs ~75 ns each, 15 ms for 200,000 lists). Errors are
    ignored, as finalization ignores them.
    """
    import _io

    leftovers = [sys.__stdout__, sys.__stderr__, *streams]
    main = sys.modules.get("__main__")
    try:
        leftovers += [obj for obj in vars(main).values() if isinstance(obj, _io._IOBase)]
    except BaseException:
        pass
    for stream in leftovers:
        try:
            if stream is not None and not is_closed(stream):
                stream.flush()
        except BaseException:
            pass


def report_exception(exc, program):
    """Write the traceback of an exception the program raised to stderr; at least its name when formatting fails."""
    try:
        sys.stderr.write("".join(format_exception(exc, program.lines)))
    except BaseException:
        # Formatting can fail when memory is exhausted; the exception's name still must get out.
        os.write(2, ("\n%s\n" % type(exc).__name__).encode())


def standard_streams():
    """Text streams on fds 0, 1 and 2, built once in the zygote (building them costs ~0.25 ms).

    They hold only fd numbers and are never used by the zygote, so each forked child gets pristine
    copies that, after ``dup2``, read and write that test's memfds.
    """
    import io

    def text(fd, name, mode, errors, line_buffering=False):
        # As CPython's own create_stdio() builds them: programs read `.mode` and `.buffer.raw.name`.
        raw = io.FileIO(fd, mode + "b", closefd=False)
        raw.name = name
        buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
        stream = io.TextIOWrapper(buffered, encoding="utf-8", errors=errors, line_buffering=line_buffering)
        stream.mode = mode
        return stream

    return (
        text(0, "<stdin>", "r", "strict"),
        text(1, "<stdout>", "w", "strict"),
        text(2, "<stderr>", "w", "backslashreplace", line_buffering=True),
    )


def bind_standard_streams(streams):
    """Make ``streams`` the program's ``sys.stdin``, ``sys.stdout`` and ``sys.stderr`` (and their ``__std*__``)."""
    sys.stdin, sys.stdout, sys.stderr = streams
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = streams


def apply_limits(limits):
    """Apply a test's rlimits to this child (never above a hard limit the host set) and raise the stack limit
    for deep recursion."""
    import resource

    def cap(which, soft, hard=None):
        """Lower a limit; a hard limit already below the request (set by the host) is kept."""
        hard = soft if hard is None else hard
        current = resource.getrlimit(which)[1]
        if current != resource.RLIM_INFINITY:
            soft, hard = min(soft, current), min(hard, current)
        resource.setrlimit(which, (soft, hard))

    cap(resource.RLIMIT_CPU, limits["cpu"], limits["cpu"] + 1)
    cap(resource.RLIMIT_AS, limits["memory"])
    cap(resource.RLIMIT_FSIZE, limits["fsize"])
    cap(resource.RLIMIT_NOFILE, limits["nofile"])
    cap(resource.RLIMIT_CORE, 0)
    if limits.get("nproc"):
        cap(resource.RLIMIT_NPROC, limits["nproc"])
    # Deep recursion (with lru_cache or a recursive DFS) needs more than the usual 8 MiB of stack.
    hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
    want = min(limits["memory"], 512 << 20)
    if hard == resource.RLIM_INFINITY or hard >= want:
        resource.setrlimit(resource.RLIMIT_STACK, (want, hard))


def call_arguments(text):
    """The arguments of a call-based test, one per non-blank line of ``text``: JSON, else a Python literal."""
    import json

    args = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            args.append(json.loads(line))
        except ValueError:
            import ast

            args.append(ast.literal_eval(line))
    return args


def find_function(namespace, fn_name):
    """What a call-based test calls: method ``fn_name`` of a new ``Solution()`` when the program defines one,
    else its function ``fn_name``; raises ``NameError`` when there is neither."""
    solution = namespace.get("Solution")
    if isinstance(solution, type) and hasattr(solution, fn_name):
        return getattr(solution(), fn_name)
    function = namespace.get(fn_name)
    if callable(function):
        return function
    raise NameError("the program defines no function %r (nor a class Solution with that method)" % fn_name)


def write_return_value(value):
    """Serialise the return value as JSON into fd 3; the trusted parent compares it structurally."""
    import json

    def refuse(obj):
        raise TypeError("a %s is not JSON-serialisable" % type(obj).__name__)

    try:
        payload = b"V" + json.dumps(value, default=refuse).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError, RecursionError) as exc:
        payload = b"E" + str(exc).encode("utf-8", "replace")
    write_all(3, payload)


def run_program(program, stdin_text):
    """Run the program as ``__main__`` (in call mode, then call its function and write the return value to fd 3)
    and return its exit status; an exception it raises goes to stderr as a traceback."""
    module = type(sys)("__main__")
    module.__file__ = SOLUTION
    module.__builtins__ = __builtins__
    sys.modules["__main__"] = module
    sys.argv = [SOLUTION]
    if program.mode == "call":
        # Function-style judges (LeetCode) let `List[int]` be used without an import; injecting the
        # names keeps the program's line numbers, which a prepended import line would shift.
        typing = sys.modules["typing"]
        module.__dict__.update((name, getattr(typing, name)) for name in typing.__all__)
    try:
        exec(program.code, module.__dict__)
        if program.mode == "call":
            function = find_function(module.__dict__, program.fn_name)
            write_return_value(function(*call_arguments(stdin_text)))
        return 0
    except SystemExit as exc:
        return system_exit_code(exc)
    except BaseException as exc:
        report_exception(exc, program)
        return 1


def run_child(program, fds, limits):
    """The forked child's whole life: bind the test's memfds to fds 0-2 (and 3 for a return value), apply
    ``limits``, run the program and exit; it never returns. Exit status 125 means the set-up failed, not the program."""
    try:
        os.setpgid(0, 0)
        prctl(PR_SET_PDEATHSIG, _signal.SIGKILL)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(len(fds), 1 << 16)
        os.chdir(WORKDIR)
        apply_limits(limits)
        bind_standard_streams(program.streams)
        stdin_text = ""
        if program.mode == "call":
            stdin_text = sys.stdin.read()
        random = sys.modules.get("random")
        if random is not None:
            random.seed()  # forked children would otherwise all share the zygote's random state
        code = run_program(program, stdin_text)
    except BaseException:
        os._exit(125)
    finish(code, program.streams[1:])


# ---------------------------------------------------------------------------------------------
# The zygote side of a test


def children_of(pid, tasks=None):
    """The direct children of process ``pid`` (of its threads ``tasks``, by default all of them); empty once it
    is gone."""
    found = []
    try:
        tasks = tasks or os.listdir("/proc/%d/task" % pid)
    except OSError:
        return found
    for tid in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, tid)) as handle:
                found.extend(int(child) for child in handle.read().split())
        except OSError:
            pass
    return found


def descendants():
    """Every descendant of the zygote, nearest first."""
    # The zygote is single-threaded, and orphans are re-parented to it (a subreaper) before the
    # child's exit is reported: one read of its own children list usually shows nothing is left.
    me = os.getpid()
    found, frontier = [], children_of(me, [me])
    while frontier:
        found.extend(frontier)
        frontier = [grandchild for child in frontier for grandchild in children_of(child)]
    return found


def kill_descendants(deadline_s=3.0):
    """SIGKILL every descendant until none is left; as subreaper the zygote inherits orphans."""
    stop = time.monotonic() + deadline_s
    while True:
        for pid in descendants():
            try:
                os.kill(pid, _signal.SIGKILL)
            except OSError:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return True
        if time.monotonic() > stop:
            return False
        time.sleep(0.001)


def wipe(path):
    """Empty the program's working directory, undoing permission tricks on the way."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                os.chmod(entry.path, 0o700)
                wipe(entry.path)
                os.rmdir(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            pass


def memfd(name, data=b""):
    """A new in-memory file holding ``data``, positioned at its start."""
    fd = os.memfd_create(name, 0)
    if data:
        write_all(fd, data)
        os.lseek(fd, 0, 0)
    return fd


def read_capped(fd, cap):
    """``(size, data)``: the full size of the file and at most its first ``cap`` bytes."""
    size = os.fstat(fd).st_size
    return size, os.pread(fd, min(size, cap), 0) if size else b""


def read_head_tail(fd, cap):
    """``(size, data)``: the whole file when it fits in ``cap`` bytes, else its first ``cap // 4`` bytes and its
    last ``cap - cap // 4`` joined by a truncation marker."""
    size = os.fstat(fd).st_size
    if size <= cap:
        return size, os.pread(fd, size, 0) if size else b""
    head = os.pread(fd, cap // 4, 0)
    tail = os.pread(fd, cap - cap // 4, size - (cap - cap // 4))
    return size, head + b"\n...(stderr truncated)...\n" + tail


def cpu_wait_s(pid):
    """Seconds process ``pid`` spent runnable but waiting for a CPU (the run-queue delay of
    ``/proc/PID/task/*/schedstat``; the most of any of its threads, since a thread that waits while
    another computes is not held off); 0 when the kernel does not report it."""
    longest = 0
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0.0
    for tid in tasks:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as handle:
                longest = max(longest, int(handle.read().split()[1]))
        except (OSError, ValueError, IndexError):
            pass
    return longest / 1e9


def wait_with_deadline(pid, wall_s, longest_s):
    """Wait for the child; kill its whole tree at the deadline. Returns (status, rusage, timed_out,
    seconds it waited for a CPU).

    The deadline is ``wall_s`` of the child's own time: it moves later by the time the child waited
    for a CPU (a loaded machine, more programs than cores), up to ``longest_s`` after the start, so
    that a time-out rests on what the program did, not on what else the machine ran. A program
    that sleeps or blocks waits for no CPU and is stopped at ``wall_s``.
    """
    import select

    started = time.monotonic()
    deadline = started + wall_s
    pidfd = os.pidfd_open(pid)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        while True:
            timed_out = not poller.poll(max(1, int((deadline - time.monotonic()) * 1000)))
            if not timed_out:
                break
            stretched = min(started + longest_s, started + wall_s + cpu_wait_s(pid))
            if stretched <= time.monotonic() + 0.001:
                break
            deadline = stretched
    finally:
        os.close(pidfd)
    waited = cpu_wait_s(pid)  # read while the child is a zombie (or alive), before it is reaped
    if timed_out:
        try:
            os.killpg(pid, _signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(pid, _signal.SIGKILL)
        except OSError:
            pass
    _, status, rusage = os.wait4(pid, 0)
    return status, rusage, timed_out, waited


def run_test(program, request, control_out):
    """Run one ``test`` request in a forked child and send the parent the ``T`` reply: the :data:`TEST_REPLY`
    header, then the captured stdout, stderr and return value. Kills every descendant and wipes the working
    directory before replying, so that nothing carries over to the next test."""
    import struct

    limits = request["limits"]
    os.makedirs(WORKDIR, exist_ok=True)
    fds = [memfd("stdin", request["stdin"]), memfd("stdout"), memfd("stderr")]
    if program.mode == "call":
        fds.append(memfd("result"))
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        run_child(program, fds, limits)
    longest = request.get("longest", request["wall"])
    status, rusage, timed_out, waited = wait_with_deadline(pid, request["wall"], longest)
    wall = time.monotonic() - started
    clean = kill_descendants()
    stdout_size, stdout = read_capped(fds[1], request["stdout_cap"])
    if stdout_size > request["stdout_cap"]:
        stdout = stdout[:4096]  # an output-limit verdict needs only a glimpse for the feedback
    stderr_size, stderr = read_head_tail(fds[2], request["stderr_cap"])
    result_size, result = read_capped(fds[3], request["stdout_cap"] + 1) if len(fds) > 3 else (0, b"")
    for fd in fds:
        os.close(fd)
    wipe(WORKDIR)
    exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    signal = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    header = struct.pack(
        TEST_REPLY,
        exit_code,
        signal,
        int(timed_out),
        rusage.ru_utime + rusage.ru_stime,
        wall,
        waited,
        rusage.ru_maxrss,
        stdout_size,
        stderr_size,
        result_size,
        len(stdout),
        len(stderr),
        len(result),
        0 if clean else FLAG_UNCLEAN,
    )
    send(control_out, b"T", header + stdout + stderr + result)


def main():
    """The zygote's life: lock itself down, greet the parent with the nonce, then serve ``load`` and ``test``
    requests until the parent closes the channel (any other request ends the zygote with status 3)."""
    control_in, control_out = os.dup(0), os.dup(1)
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    dumpable_off = prctl(PR_SET_DUMPABLE, 0)
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    import builtins

    builtins.exit = Quitter("exit")
    builtins.quit = Quitter("quit")
    global WORKDIR
    nonce = sys.argv[1].encode() if len(sys.argv) > 1 else b""
    if len(sys.argv) > 2:
        WORKDIR = sys.argv[2]
    notes = b"" if dumpable_off else b" nodumpable"
    if len(sys.argv) > 3:  # the process tier asks for Landlock: read-only paths, then ":"-joined
        os.makedirs(WORKDIR, exist_ok=True)
        proc_self = "/proc/%d" % os.getpid()
        abi = landlock([*sys.argv[3].split(":"), proc_self], [WORKDIR, "/dev/null"])
        notes += b" landlock=%d" % abi
    send(control_out, b"R", nonce + notes)
    program = None
    while True:
        try:
            request = receive(control_in)
        except EOFError:
            os._exit(0)
        if request["op"] == "load":
            program, error = load(request)
            send(control_out, b"L", error.encode("utf-8", "replace"))
        elif request["op"] == "test" and program is not None:
            run_test(program, request, control_out)
        else:
            os._exit(3)


if __name__ == "__main__":
    main()
