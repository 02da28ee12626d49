// `logs [--follow]`: the BPF log records (BPFLC_LOG_* in the program) of the versions that serve, written through
// ILogger (category BpfLifecycle.BpfLog) exactly as the agent forwards them. Records are consumed from the ring
// buffer: while `bpflc run` is active it receives them instead, so use the agent's log output there.
using System.Globalization;
using BpfLifecycle.Host.Lifecycle;
using BpfLifecycle.Interop;
using BpfLifecycle.Observability;
using BpfLifecycle.Observability.Monitoring;

namespace BpfLifecycle.Host.Commands;

internal sealed class LogsCommand(ApplicationLifecycle app, HostPaths paths, BpfMonitor monitor, TimeProvider time, TextWriter output)
{
    public async Task<int> RunAsync(bool follow, CancellationToken ct)
    {
        var status = app.Manager.GetStatus();
        var ids = new[] { status.ActiveVersionId, status.CandidateVersionId }.OfType<long>().ToList();
        if (ids.Count == 0)
        {
            output.WriteLine($"application '{paths.Application}': nothing deployed");
            return ExitCodes.NotFound;
        }

        var handles = new List<IDisposable>();
        try
        {
            foreach (var id in ids)
            {
                var ring = Path.Combine(paths.PinDirectory, "versions", id.ToString(CultureInfo.InvariantCulture), "maps", "bpflc_logs");
                if (!File.Exists(ring))
                {
                    continue;
                }

                var map = Bpf.GetPinnedMap(ring);
                handles.Add(map);
                handles.Add(monitor.Register(new MonitoredProgram
                {
                    Identity = new ProgramIdentity(paths.Application, status.Program ?? "program", id.ToString(CultureInfo.InvariantCulture)),
                    VersionId = (ulong)id,
                    LogRing = map,
                }));
            }

            var total = monitor.DrainLogs();
            while (follow && !ct.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200), time, ct);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                total += monitor.DrainLogs();
            }

            output.WriteLine($"{total} log record(s) from version(s) {string.Join(", ", ids)}");
            return ExitCodes.Success;
        }
        finally
        {
            // Registrations first, then the maps they read.
            for (var i = handles.Count - 1; i >= 0; i--)
            {
                handles[i].Dispose();
            }
        }
    }
}
