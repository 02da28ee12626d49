// The rollout context the manager gives a strategy: traffic moves through the dispatcher or link updates,
// health is sampled as deltas over a window (per-version bpflc_stats, dispatcher picks and misses,
// kernel run stats for directly linked versions) and judged by the health evaluator.
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Dispatch;
using BpfLifecycle.Deployment.Kernel;
using BpfLifecycle.Deployment.State;
using BpfLifecycle.Deployment.Strategies;
using BpfLifecycle.Interop;
using BpfLifecycle.Observability.Health;

namespace BpfLifecycle.Deployment;

public sealed partial class DeploymentManager
{
    private sealed class ManagerRolloutContext : RolloutContext
    {
        private readonly DeploymentManager _m;
        private readonly string _strategy;
        private readonly RolloutSlots _slots;
        private readonly Artifact _artifact;
        private readonly IProgress<RolloutEvent>? _progress;

        public ManagerRolloutContext(DeploymentManager manager, VersionRecord candidate, VersionRecord? baseline, IReadOnlyList<AttachPoint> attachPoints, string strategy, RolloutSlots slots, Artifact artifact, IProgress<RolloutEvent>? progress)
        {
            _m = manager;
            Candidate = candidate;
            Baseline = baseline;
            AttachPoints = attachPoints;
            _strategy = strategy;
            _slots = slots;
            _artifact = artifact;
            _progress = progress;
        }

        public override string Application => _m.Application;

        public override VersionRecord Candidate { get; }

        public override VersionRecord? Baseline { get; }

        public override IReadOnlyList<AttachPoint> AttachPoints { get; }

        public override TimeProvider TimeProvider => _m._time;

        public override int CanaryBasisPoints => _slots.CanaryBasisPoints;

        private long TargetId(RolloutTarget target) => target == RolloutTarget.Candidate ? Candidate.Id
            : Baseline?.Id ?? throw new InvalidOperationException("A first deployment has no baseline to route to.");

        public override ValueTask RouteAllAsync(RolloutTarget target, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Baseline is null)
            {
                return ValueTask.CompletedTask; // the candidate already serves a first deployment
            }

            var id = TargetId(target);
            if (_m._pins.HasDispatcher)
            {
                using var d = Dispatcher.FromPins(_m._pins.DispatcherDir);
                var slot = SlotOf(d, id);
                d.SetControl(new DispatcherControl(slot, 1 - slot, 0));
            }
            else
            {
                using var program = _m._pins.OpenVersionProgram(id);
                using var other = _m._pins.OpenVersionProgram(id == Candidate.Id ? Baseline.Id : Candidate.Id);
                foreach (var pin in _m._pins.LinkPins())
                {
                    var runs = AppPins.LinkProgramId(pin);
                    // Compare-and-swap: only replace the version this rollout put there.
                    AppPins.UpdateLink(pin, program, runs == AppPins.ProgramId(other) ? other : null);
                }
            }

            _slots.CanaryBasisPoints = 0;
            _m._pins.WriteMirror(AppPins.MirrorKey.CandidateVersion, target == RolloutTarget.Candidate ? (ulong)Candidate.Id : 0);
            Report(RolloutEventKind.TrafficSwitched, $"all traffic to {target.ToString().ToLowerInvariant()} version {id}");
            return ValueTask.CompletedTask;
        }

        public override ValueTask RouteAsync(AttachPoint attachPoint, RolloutTarget target, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_m._pins.HasDispatcher)
            {
                throw new InvalidOperationException($"Per-hook routing needs direct links; '{Application}' routes through a shared dispatcher. Use a strategy with SwitchMode Direct.");
            }

            var pin = _m._pins.LinkPath(attachPoint);
            if (!File.Exists(pin))
            {
                throw new ArgumentException($"'{attachPoint}' is not one of the hooks of '{Application}' ({string.Join(", ", AttachPoints)}).", nameof(attachPoint));
            }

            if (Baseline is null)
            {
                return ValueTask.CompletedTask;
            }

            var id = TargetId(target);
            using var program = _m._pins.OpenVersionProgram(id);
            using var other = _m._pins.OpenVersionProgram(id == Candidate.Id ? Baseline.Id : Candidate.Id);
            AppPins.UpdateLink(pin, program, AppPins.LinkProgramId(pin) == AppPins.ProgramId(other) ? other : null);
            Report(RolloutEventKind.TrafficSwitched, $"{attachPoint} to {target.ToString().ToLowerInvariant()} version {id}");
            return ValueTask.CompletedTask;
        }

        public override ValueTask SetCanaryShareAsync(int basisPoints, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ArgumentOutOfRangeException.ThrowIfNegative(basisPoints);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(basisPoints, 10_000);
            if (Baseline is null)
            {
                return ValueTask.CompletedTask;
            }

            if (!_m._pins.HasDispatcher)
            {
                throw new InvalidOperationException($"A canary share needs the dispatcher; the strategy must declare SwitchMode = Dispatcher.");
            }

            using var d = Dispatcher.FromPins(_m._pins.DispatcherDir);
            var baselineSlot = SlotOf(d, Baseline.Id);
            var candidateSlot = SlotOf(d, Candidate.Id);
            d.SetControl(new DispatcherControl(baselineSlot, candidateSlot, basisPoints));
            _slots.CanaryBasisPoints = basisPoints;
            _m._pins.WriteMirror(AppPins.MirrorKey.CandidateVersion, (ulong)Candidate.Id);
            _m._pins.WriteMirror(AppPins.MirrorKey.CanaryBasisPoints, (ulong)basisPoints);
            Report(RolloutEventKind.TrafficSwitched, $"canary share {basisPoints / 100.0:0.##}% to version {Candidate.Id}");
            return ValueTask.CompletedTask;
        }

        public override async ValueTask<HealthReport> ObserveAsync(TimeSpan window, CancellationToken cancellationToken)
        {
            var start = TakeSnapshot();
            var t0 = TimeProvider.GetTimestamp();
            await Task.Delay(window, TimeProvider, cancellationToken).ConfigureAwait(false);
            var elapsed = TimeProvider.GetElapsedTime(t0);
            var end = TakeSnapshot();
            var candidate = Sample(start.Candidate, end.Candidate, start, end, elapsed, isCandidate: true);
            HealthSample? baseline = Baseline is null ? null : Sample(start.Baseline, end.Baseline, start, end, elapsed, isCandidate: false);
            var report = _m._health.Evaluate(candidate, baseline);
            _m.RecordRollout(_strategy, Candidate.Id, report);
            Report(RolloutEventKind.Observed, $"{elapsed.TotalMilliseconds:0} ms: candidate {candidate.Runs} runs, {candidate.Errors} errors, {candidate.MissedTailCalls} missed; verdict {report.Verdict}", report);
            return report;
        }

        public override ValueTask<TestVectorReport> RunTestVectorsAsync(CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var program = _m._pins.OpenVersionProgram(Candidate.Id);
            var type = Bpf.GetProgramInfo(program).Type;
            if (type is not (BpfProgramType.Xdp or BpfProgramType.SchedCls or BpfProgramType.SocketFilter))
            {
                var skipped = new TestVectorReport(false, []);
                Report(RolloutEventKind.TestVectors, skipped.Describe());
                return ValueTask.FromResult(skipped);
            }

            var results = new List<TestVectorResult>();
            foreach (var v in _artifact.Manifest.TestVectors.Where(v => v.Program == Candidate.Program))
            {
                var input = v.Input;
                var output = new byte[input.Length + 512]; // programs may grow the packet (headroom)
                var run = Bpf.TestRun(program, input, output);
                results.Add(new TestVectorResult(v.Name, v.ExpectedVerdict, run.ReturnValue, run.DurationNs));
            }

            var report = new TestVectorReport(true, results);
            Report(RolloutEventKind.TestVectors, report.Describe());
            return ValueTask.FromResult(report);
        }

        public override void Report(RolloutEventKind kind, string message, HealthReport? health = null) =>
            _m.Emit(_progress, kind, Candidate.Id, message, health);

        private static int SlotOf(Dispatcher d, long versionId, AppPins pins)
        {
            using var p = pins.OpenVersionProgram(versionId);
            var id = AppPins.ProgramId(p);
            for (var s = 0; s < Dispatcher.SlotCount; s++)
            {
                if (d.GetSlotProgramId(s) == id)
                {
                    return s;
                }
            }

            throw new InvalidOperationException($"Version {versionId} (program {id}) is in no dispatcher slot.");
        }

        private int SlotOf(Dispatcher d, long versionId) => SlotOf(d, versionId, _m._pins);

        private sealed record VersionCounters(bool HasStats, long Runs, long Errors, long Ns, long KernelRuns, long KernelNs, long MemoryBytes);

        private sealed record Snapshot(VersionCounters Candidate, VersionCounters Baseline, DispatcherCounters? Dispatcher, int CandidateSlot, int BaselineSlot);

        private Snapshot TakeSnapshot()
        {
            DispatcherCounters? counters = null;
            int cs = -1, bs = -1;
            if (_m._pins.HasDispatcher)
            {
                using var d = Dispatcher.FromPins(_m._pins.DispatcherDir);
                counters = d.ReadCounters();
                cs = SlotOf(d, Candidate.Id);
                bs = Baseline is null ? -1 : SlotOf(d, Baseline.Id);
            }

            return new Snapshot(Read(Candidate.Id), Baseline is null ? new VersionCounters(false, 0, 0, 0, 0, 0, 0) : Read(Baseline.Id), counters, cs, bs);
        }

        private VersionCounters Read(long versionId)
        {
            using var program = _m._pins.OpenVersionProgram(versionId);
            var info = Bpf.GetProgramInfo(program);
            long memory = 0;
            var dir = Path.Combine(_m._pins.VersionDir(versionId), "maps");
            if (Directory.Exists(dir))
            {
                foreach (var f in Directory.EnumerateFiles(dir))
                {
                    using var map = Bpf.GetPinnedMap(f);
                    memory += Bpf.GetMemlock(map) ?? 0;
                }
            }

            using var stats = _m._pins.TryOpenVersionMap(versionId, "bpflc_stats");
            if (stats is null)
            {
                return new VersionCounters(false, 0, 0, 0, (long)info.RunCount, (long)info.RunTimeNs, memory);
            }

            var cpus = Bpf.PossibleCpuCount;
            var value = new byte[32 * cpus];
            Span<byte> key = stackalloc byte[4];
            long runs = 0, errors = 0, ns = 0;
            if (Bpf.MapLookup(stats, key, value))
            {
                for (var c = 0; c < cpus; c++)
                {
                    runs += BitConverter.ToInt64(value, c * 32);
                    errors += BitConverter.ToInt64(value, c * 32 + 8);
                    ns += BitConverter.ToInt64(value, c * 32 + 16);
                }
            }

            return new VersionCounters(true, runs, errors, ns, (long)info.RunCount, (long)info.RunTimeNs, memory);
        }

        private static HealthSample Sample(VersionCounters a, VersionCounters b, Snapshot sa, Snapshot sb, TimeSpan window, bool isCandidate)
        {
            long picks = 0, missed = 0;
            if (sa.Dispatcher is { } da && sb.Dispatcher is { } db)
            {
                var slot = isCandidate ? sa.CandidateSlot : sa.BaselineSlot;
                if (slot >= 0)
                {
                    picks = db.Picks[slot] - da.Picks[slot];
                }

                if (slot >= 0)
                {
                    missed = db.MissedPerSlot[slot] - da.MissedPerSlot[slot];
                }
            }

            long runs, ns;
            if (a.HasStats)
            {
                runs = b.Runs - a.Runs;
                ns = b.Ns - a.Ns;
            }
            else if (sa.Dispatcher is not null)
            {
                runs = picks;
                ns = 0; // tail-called programs get no kernel run time
            }
            else
            {
                runs = b.KernelRuns - a.KernelRuns;
                ns = b.KernelNs - a.KernelNs;
            }

            var errors = a.HasStats ? b.Errors - a.Errors : 0;
            var cpuShare = window > TimeSpan.Zero ? ns / (window.TotalNanoseconds * Math.Max(1, Bpf.OnlineCpuCount)) : 0;
            return new HealthSample(runs, errors, ns, missed, cpuShare, b.MemoryBytes, window);
        }
    }
}
