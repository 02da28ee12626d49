// Runtime configuration through the pinned bpflc_config map: a running program's sampling changes after a write.
using BpfLifecycle.Deployment.RuntimeConfig;
using BpfLifecycle.Interop;
using BpfLifecycle.Observability.Audit;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Security.Tests;

public sealed class RuntimeConfigTests : KernelTestBase
{
    // sizeof(struct bpflc_log_record) (304) plus the ring's 8-byte record header, already a multiple of 8.
    private const long LogRecordBytes = 312;

    [Fact]
    public void A_running_program_changes_its_sampling_after_a_config_write_without_reload()
    {
        var pins = NewPinDirectory();
        var dir = NewTempDirectory();
        using var audit = new FileAuditLog(new FileAuditLogOptions { Path = Path.Combine(dir, "audit.jsonl") });
        using var config = RuntimeConfigMap.OpenOrCreate(Path.Combine(pins, "bpflc_config"), audit);

        using var file = BpfObjectFile.Open(Repository.BpfObject("lifecycle_xdp.o"));
        file.ReuseMap(RuntimeConfigMap.MapName, config.Handle);
        using var loaded = file.Load();
        var program = loaded.GetProgram("lifecycle_xdp");
        var ring = loaded.GetMap("bpflc_logs");
        Assert.Equal(Bpf.GetMapInfo(config.Handle).Id, Bpf.GetMapInfo(loaded.GetMap(RuntimeConfigMap.MapName)).Id);

        var packet = new byte[64];
        long Records() => RingBuffers.ProducerPosition(ring) / LogRecordBytes;

        // Unset: the program's default (0) applies.
        Bpf.TestRun(program, packet, [], 100);
        Assert.Equal(0, Records());

        config.Set("log_sample_percent", 0, "test");
        Bpf.TestRun(program, packet, [], 200);
        Assert.Equal(0, Records());

        config.Set("log_sample_percent", 100, "test");
        Bpf.TestRun(program, packet, [], 200);
        Assert.Equal(200, Records());

        // 50%: about half, as bpflc_sample draws per run.
        config.Set("log_sample_percent", 50, "test");
        Bpf.TestRun(program, packet, [], 400);
        var sampled = Records() - 200;
        Assert.InRange(sampled, 120, 280);

        Assert.True(config.Remove("log_sample_percent", "test"));
        var before = Records();
        Bpf.TestRun(program, packet, [], 100);
        Assert.Equal(before, Records());

        var changes = AuditLogVerifier.ReadAll(audit.Path);
        Assert.Equal(4, changes.Count);
        Assert.All(changes, c => Assert.Equal(AuditAction.ConfigChange, c.Action));
        Assert.Equal((string?)null, changes[0].Details["old"]);
        Assert.Equal("0", changes[1].Details["old"]);
        Assert.Equal("100", changes[1].Details["new"]);
        Assert.Equal((string?)null, changes[3].Details["new"]);
        Assert.EndsWith("bpflc_config", changes[3].Map, StringComparison.Ordinal);
    }

    [Fact]
    public void The_pinned_map_is_shared_and_keys_are_validated()
    {
        var pins = NewPinDirectory();
        var path = Path.Combine(pins, "bpflc_config");
        using (var a = RuntimeConfigMap.OpenOrCreate(path))
        {
            a.Set("alpha", 1);
            a.Set(new string('k', 63), ulong.MaxValue);
        }

        using var b = RuntimeConfigMap.OpenOrCreate(path);
        Assert.Equal(1ul, b.Get("alpha", 9));
        Assert.Equal(9ul, b.Get("missing", 9));
        Assert.Equal(new Dictionary<string, ulong> { ["alpha"] = 1, [new string('k', 63)] = ulong.MaxValue }, b.ReadAll());

        Assert.Contains("1 to 63 characters", Assert.Throws<ArgumentException>(() => b.Set(new string('k', 64), 1)).Message, StringComparison.Ordinal);
        Assert.Contains("1 to 63 characters", Assert.Throws<ArgumentException>(() => b.Set("", 1)).Message, StringComparison.Ordinal);
        Assert.Contains("not printable ASCII at position 3", Assert.Throws<ArgumentException>(() => b.Set("bad key", 1)).Message, StringComparison.Ordinal);

        using var other = Bpf.MapCreate(new BpfMapSpec("other", BpfMapType.Array, 4, 8, 1));
        var otherPath = Path.Combine(pins, "other");
        Bpf.Pin(other, otherPath);
        Assert.Contains("a runtime config map is Hash", Assert.Throws<InvalidOperationException>(() => RuntimeConfigMap.OpenOrCreate(otherPath)).Message, StringComparison.Ordinal);
    }
}
