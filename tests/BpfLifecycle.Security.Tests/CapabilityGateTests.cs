// The capability gate names what a deployment lacks; the drop hook lowers a thread and the gate then refuses.
using System.Runtime.ExceptionServices;
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Gates;
using BpfLifecycle.Deployment.Security;
using BpfLifecycle.Interop;
using BpfLifecycle.Interop.Asm;
using BpfLifecycle.Observability.Audit;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Security.Tests;

public sealed class CapabilityGateTests : KernelTestBase
{
    private static ArtifactManifest Manifest(params string[] attach) => new()
    {
        Name = "probe",
        Version = "1",
        Object = new ArtifactObject("p.o", new string('0', 64)),
        Programs = [new ArtifactProgram("p", attach)],
    };

    private static GateContext Context(string dir, params string[] attach)
    {
        var art = TestFiles.WriteArtifact(dir, "cap-" + Guid.NewGuid().ToString("N")[..6]);
        var manifest = Artifact.Load(art).Manifest with { Programs = [new ArtifactProgram("lifecycle_xdp", attach)] };
        File.WriteAllBytes(Path.Combine(art, Artifact.ManifestFileName), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(manifest, ArtifactManifest.JsonOptions));
        return new GateContext("app", Artifact.Load(art), []);
    }

    [Fact]
    public void Requirements_follow_the_attach_points()
    {
        string Names(ArtifactManifest m) => string.Join(" | ", CapabilityGate.RequirementsOf(m).Select(r => r.ToString()));

        Assert.Equal("create map needs CAP_BPF (or CAP_SYS_ADMIN) | load Xdp program needs CAP_NET_ADMIN,CAP_BPF (or CAP_SYS_ADMIN)", Names(Manifest("xdp:veth0")));
        var tracing = CapabilityGate.RequirementsOf(Manifest("tracepoint:syscalls/sys_enter_openat", "uprobe:/bin/true:main"));
        Assert.Contains(tracing, r => r.AllOf.Contains(Capability.Perfmon) && r.Operation.Contains("perf event", StringComparison.Ordinal));
        Assert.Contains(tracing, r => r.Operation == "load Tracepoint program");
        Assert.Contains(tracing, r => r.Operation == "load Kprobe program");
        Assert.Contains(CapabilityGate.RequirementsOf(Manifest("tcx-ingress:veth0")), r => r.AllOf.Contains(Capability.NetAdmin));
        Assert.DoesNotContain(CapabilityGate.RequirementsOf(Manifest("cgroup-skb-ingress:/sys/fs/cgroup")), r => r.AllOf.Contains(Capability.NetAdmin));
    }

    [Fact]
    public async Task Gate_names_the_missing_capabilities_and_the_operations_that_need_them()
    {
        var dir = NewTempDirectory();
        var ctx = Context(dir, "xdp:veth0", "tracepoint:sched/sched_switch");
        var ct = TestContext.Current.CancellationToken;

        var onlyBpf = await new CapabilityGate(() => CapabilitySet.Of(Capability.Bpf)).CheckAsync(ctx, ct);
        Assert.False(onlyBpf.Allowed);
        Assert.Contains("missing CAP_NET_ADMIN,CAP_PERFMON", onlyBpf.Reason, StringComparison.Ordinal);
        Assert.Contains("load Xdp program needs CAP_NET_ADMIN,CAP_BPF (or CAP_SYS_ADMIN) — missing CAP_NET_ADMIN", onlyBpf.Reason, StringComparison.Ordinal);

        var none = await new CapabilityGate(() => CapabilitySet.Empty).CheckAsync(ctx, ct);
        Assert.Contains("missing CAP_NET_ADMIN,CAP_PERFMON,CAP_BPF", none.Reason, StringComparison.Ordinal);

        Assert.True((await new CapabilityGate(() => CapabilitySet.Of(Capability.SysAdmin)).CheckAsync(ctx, ct)).Allowed);
        Assert.True((await new CapabilityGate(() => CapabilitySet.Of(Capability.Bpf, Capability.NetAdmin, Capability.Perfmon)).CheckAsync(ctx, ct)).Allowed);

        var real = new CapabilityGate();
        Assert.Equal(300, real.Order);
        Assert.True((await real.CheckAsync(ctx, ct)).Allowed, "root holds every capability");
    }

    [Fact]
    public void After_the_drop_hook_the_gate_refuses_and_the_kernel_agrees()
    {
        var dir = NewTempDirectory();
        var ctx = Context(dir, "xdp:veth0");
        using var audit = new FileAuditLog(new FileAuditLogOptions { Path = Path.Combine(dir, "audit.jsonl") });
        var options = new CapabilityDropOptions();
        options.Keep.Add("CAP_BPF");
        var hook = new CapabilityDropHook(options, audit);
        GateResult? result = null;
        BpfException? loadError = null;
        ExceptionDispatchInfo? failure = null;

        // Capabilities are per thread: drop on a thread of our own, which ends afterwards.
        var thread = new Thread(() =>
        {
            try
            {
                var after = hook.Apply();
                Assert.Equal(CapabilitySet.Of(Capability.Bpf), after.Effective);
                result = new CapabilityGate().CheckAsync(ctx, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                var insns = new BpfAssembler().Return(2).Build();
                try
                {
                    using var p = Bpf.ProgramLoad(new BpfProgramSpec("dropped_xdp", BpfProgramType.Xdp, insns));
                }
                catch (BpfException e)
                {
                    loadError = e;
                }
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        });
        thread.Start();
        thread.Join();
        failure?.Throw();

        Assert.NotNull(result);
        Assert.False(result.Allowed);
        Assert.Contains("missing CAP_NET_ADMIN", result.Reason, StringComparison.Ordinal);
        Assert.NotNull(loadError);
        Assert.Equal(Errno.EPERM, loadError.Errno);

        var entry = Assert.Single(AuditLogVerifier.ReadAll(audit.Path));
        Assert.Equal(AuditAction.CapabilityDrop, entry.Action);
        Assert.Equal("CAP_BPF", entry.Details["after"]);

        var bad = new CapabilityDropOptions();
        bad.Keep.Add("CAP_FLY");
        Assert.Contains("'CAP_FLY' is not a capability name", Assert.Throws<ArgumentException>(() => new CapabilityDropHook(bad)).Message, StringComparison.Ordinal);
    }
}
