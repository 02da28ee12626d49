// Opening the perf events that tracepoints, uprobes and kprobes are attached through, and finding their ids and PMUs.
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using BpfLifecycle.Interop.Native;

namespace BpfLifecycle.Interop;

/// <summary>Tracefs and perf PMU lookups for the perf-event based attach points.</summary>
public static class PerfEvents
{
    /// <summary>Where tracefs is looked for, in order.</summary>
    public static IReadOnlyList<string> TracefsRoots { get; } = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

    private static readonly ConcurrentDictionary<string, int?> s_pmuTypes = new(StringComparer.Ordinal);

    /// <summary>The id of tracepoint <paramref name="category"/>/<paramref name="name"/> (its <c>events/.../id</c> file in tracefs).</summary>
    /// <exception cref="InvalidOperationException">tracefs is not mounted.</exception>
    /// <exception cref="ArgumentException">No such tracepoint.</exception>
    public static ulong TracepointId(string category, string name)
    {
        ValidateComponent(category, nameof(category));
        ValidateComponent(name, nameof(name));
        string? mounted = null;
        foreach (var root in TracefsRoots)
        {
            var events = Path.Combine(root, "events");
            if (!Directory.Exists(events))
            {
                continue;
            }

            mounted ??= events;
            var idFile = Path.Combine(events, category, name, "id");
            if (File.Exists(idFile))
            {
                return ulong.Parse(File.ReadAllText(idFile).Trim(), CultureInfo.InvariantCulture);
            }
        }

        if (mounted is null)
        {
            throw new InvalidOperationException($"tracefs is not mounted (looked for {string.Join(" and ", TracefsRoots.Select(r => r + "/events"))}); mount it with 'mount -t tracefs tracefs /sys/kernel/tracing'.");
        }

        throw new ArgumentException($"The kernel has no tracepoint '{category}/{name}' (no {Path.Combine(mounted, category, name, "id")}).", nameof(name));
    }

    /// <summary>The perf type number of a dynamic PMU such as <c>uprobe</c> or <c>kprobe</c>, or null when the kernel has none.</summary>
    public static int? PmuType(string pmu)
    {
        ValidateComponent(pmu, nameof(pmu));
        return s_pmuTypes.GetOrAdd(pmu, static p =>
        {
            var file = $"/sys/bus/event_source/devices/{p}/type";
            return File.Exists(file) ? int.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture) : null;
        });
    }

    /// <summary>The config bit that makes a probe PMU event a return probe (from <c>format/retprobe</c>, e.g. <c>config:0</c>).</summary>
    internal static int RetprobeBit(string pmu)
    {
        var file = $"/sys/bus/event_source/devices/{pmu}/format/retprobe";
        var text = File.Exists(file) ? File.ReadAllText(file).Trim() : "config:0";
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon >= 0 && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var bit) ? bit : 0;
    }

    /// <summary>perf_event_open with close-on-exec, then enabled; every failure names the event.</summary>
    internal static unsafe PerfEventHandle Open(ref perf_event_attr attr, int pid, string what)
    {
        attr.size = (uint)sizeof(perf_event_attr);
        int fd;
        fixed (perf_event_attr* pa = &attr)
        {
            // pid -1 needs a CPU; BPF programs on tracing events run on every CPU regardless of the one given here.
            fd = Interop.Native.Interop.Perf.Open(pa, pid, pid == -1 ? 0 : -1, -1, Interop.Native.Interop.Perf.PERF_FLAG_FD_CLOEXEC);
        }

        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            ThrowHelper.ThrowKernel("perf_event_open", errno, errno switch
            {
                Errno.ENOENT => $"{what}: the kernel has no such event",
                Errno.EINVAL => $"{what}: the kernel rejected the event (bad offset or address, or a symbol it cannot probe)",
                Errno.EACCES or Errno.EPERM => $"{what}: permission denied (needs CAP_PERFMON or CAP_SYS_ADMIN)",
                3 => $"{what}: no process with pid {pid}",
                _ => what,
            });
        }

        var handle = new PerfEventHandle(fd);
        if (Interop.Native.Interop.Libc.Ioctl(fd, Interop.Native.Interop.Perf.PERF_EVENT_IOC_ENABLE, 0) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            ThrowHelper.ThrowKernel("ioctl(PERF_EVENT_IOC_ENABLE)", errno, what);
        }

        return handle;
    }

    private static void ValidateComponent(string value, string paramName)
    {
        ArgumentException.ThrowIfNullOrEmpty(value, paramName);
        if (value.Contains('/', StringComparison.Ordinal) || value is "." or "..")
        {
            throw new ArgumentException($"'{value}' is not a valid tracefs or sysfs name component.", paramName);
        }
    }
}
