// Pipeline guards: gates and state-map checks stop a deployment before the kernel is touched, a held
// application lock makes a second deployment fail clearly, and the dispatcher loads for every program
// type it supports.
using BpfLifecycle.Deployment.Dispatch;
using BpfLifecycle.Deployment.Gates;
using BpfLifecycle.Deployment.Kernel;
using BpfLifecycle.Deployment.State;
using BpfLifecycle.Deployment.Strategies;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Deployment.Tests;

public sealed class PipelineKernelTests : DeploymentTestBase
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_refusing_gate_stops_the_deployment_before_anything_is_registered_or_loaded()
    {
        var gate = new RecordingGate("budget", 200, GateResult.Deny("map memory 300 KiB > budget 64 KiB"));
        var allowing = new RecordingGate("signature", 100, GateResult.Allow("signed by test key"));
        var m = new DeploymentManager(Options, [gate, allowing]);
        Defer(m.Dispose);

        var outcome = await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct);

        Assert.Equal(DeploymentResult.Refused, outcome.Result);
        Assert.Contains("budget gate", outcome.Reason, StringComparison.Ordinal);
        Assert.Contains("300 KiB", outcome.Reason, StringComparison.Ordinal);
        Assert.Empty(m.GetVersions());
        Assert.False(Directory.Exists(AppPinDir));
        Assert.True(allowing.Seen is not null, "the lower-order gate ran first");
        Assert.NotNull(gate.Seen);
        Assert.Contains(gate.Seen!.MapSpecs, s => s.Name == "packets" && s.ValueSize == 8);
    }

    [Fact]
    public async Task An_incompatible_state_map_is_a_clear_error_before_anything_changes()
    {
        var m = NewManager();
        await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct);
        var before = m.GetStatus();
        var wide = TestArtifacts.Create(StateRoot, "2.0.0-wide", Hook, objectName: "lifecycle_xdp_wide");

        var e = await Assert.ThrowsAsync<IncompatibleStateMapException>(() => m.DeployAsync(wide, new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct));

        Assert.Equal("packets", e.MapName);
        Assert.Contains("ValueSize: 16 changed to 8", e.Message, StringComparison.Ordinal);
        Assert.Single(m.GetVersions());
        var after = m.GetStatus();
        Assert.Equal(before.ActiveProgramId, after.ActiveProgramId);
        Assert.Equal(["1"], Directory.EnumerateDirectories(Path.Combine(AppPinDir, "versions")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_held_lock_makes_a_second_deployment_fail_with_a_clear_error()
    {
        var m = new DeploymentManager(new DeploymentOptions { Application = App, StateDirectory = StateRoot, BpffsRoot = PinRoot, LockTimeout = TimeSpan.FromMilliseconds(300) });
        Defer(m.Dispose);
        using var held = await ApplicationLock.AcquireAsync(App, Path.Combine(StateRoot, App, "lock"), TimeSpan.Zero, TimeProvider.System, Ct);

        var e = await Assert.ThrowsAsync<DeploymentLockedException>(() => m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest(), cancellationToken: Ct));

        Assert.Contains($"Another deployment of '{App}'", e.Message, StringComparison.Ordinal);
        Assert.Empty(m.GetVersions());
    }

    [Fact]
    public async Task Recovery_reports_a_pinned_version_the_registry_does_not_know_and_removes_it()
    {
        var m = NewManager();
        await m.DeployAsync(MakeArtifact("1.0.0"), new DeploymentRequest { Strategy = RolloutStrategy.Immediate() }, cancellationToken: Ct);
        var stray = Path.Combine(AppPinDir, "versions", "99");
        Directory.CreateDirectory(stray);
        using (var p = Bpf.GetPinnedProgram(Path.Combine(AppPinDir, "versions", "1", "prog")))
        {
            Bpf.Pin(p, Path.Combine(stray, "prog"));
        }

        var report = await m.RecoverAsync(cancellationToken: Ct);

        Assert.Equal(RecoveryAction.None, report.Action);
        Assert.Contains(report.Drift, d => d.Contains("version 99", StringComparison.Ordinal));
        Assert.False(Directory.Exists(stray));
        Assert.Equal(1, m.GetStatus().ActiveVersionId);
    }

    [Theory]
    [InlineData(BpfProgramType.Xdp)]
    [InlineData(BpfProgramType.SchedCls)]
    [InlineData(BpfProgramType.SocketFilter)]
    [InlineData(BpfProgramType.Tracepoint)]
    public void Dispatcher_loads_for_each_supported_program_type_and_routes_with_one_write(BpfProgramType type)
    {
        using var d = Dispatcher.Create(type);
        Assert.Equal(type, Bpf.GetProgramInfo(d.Program).Type);
        d.SetControl(new DispatcherControl(1, 0, 2_500));
        Assert.Equal(new DispatcherControl(1, 0, 2_500), d.GetControl());
        Assert.Null(d.GetSlotProgramId(0));
        var counters = d.ReadCounters();
        Assert.Equal([0L, 0L], counters.Picks);
        Assert.Equal(0, counters.Missed);
    }

    [Fact]
    public void Dispatcher_counts_a_missed_tail_call_and_returns_the_fallback_verdict()
    {
        using var d = Dispatcher.Create(BpfProgramType.SocketFilter, fallbackVerdict: 7);
        var packet = Convert.FromHexString(TestArtifacts.PacketHex);
        var ret = Bpf.TestRun(d.Program, packet, new byte[packet.Length + 64]);
        Assert.Equal(7u, ret.ReturnValue);
        var c = d.ReadCounters();
        Assert.Equal(1, c.Missed);
        Assert.Equal([1L, 0L], c.MissedPerSlot);
        Assert.Equal(1, c.Picks[0]);
    }

    private sealed class RecordingGate(string name, int order, GateResult result) : IDeploymentGate
    {
        public GateContext? Seen { get; private set; }

        public string Name => name;

        public int Order => order;

        public ValueTask<GateResult> CheckAsync(GateContext context, CancellationToken cancellationToken)
        {
            Seen = context;
            return ValueTask.FromResult(result);
        }
    }
}
