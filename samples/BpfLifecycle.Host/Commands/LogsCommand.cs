// `logs [--follow]`: the BPF log records (BPFLC_LOG_* in the program) of the versions that serve, written through
// ILogger (category BpfLifecycle.BpfLog) exactly as the agent forwards them. Records are consumed from the ring
// buffer, so while the application's agent (`bpflc run`) runs it receives them and this command refuses (exit 6),
// pointing at the agent's log output, instead of splitting the records with it.
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
        if (ProcessLock.IsHeld(paths.AgentLockPath, out var agent))
        {
            await Console.Error.WriteLineAsync(
                $"error: the agent of application '{paths.Application}' (bpflc run, pid {agent?.ToString(CultureInfo.InvariantCulture) ?? "unknown"}) consumes its log " +
                "records: read them in the agent's log output (e.g. journalctl -u bpflc), or stop the agent first.");
            return ExitCodes.Busy;
        }

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
