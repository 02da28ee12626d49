// Resource budgets against the real kernel: estimates equal to fdinfo memlock, the budget gate with eviction
// of unreferenced maps, program count limits, idle-program clean-up and the CPU overhead monitor.
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Budgets;
using BpfLifecycle.Deployment.Gates;
using BpfLifecycle.Deployment.RuntimeConfig;
using BpfLifecycle.Interop;
using BpfLifecycle.Interop.Asm;
using BpfLifecycle.Observability.Alerts;
using BpfLifecycle.Observability.Audit;
using BpfLifecycle.TestKit;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;

namespace BpfLifecycle.Security.Tests;

public sealed class BudgetTests : KernelTestBase
{
    private readonly string _dir;

    public BudgetTests()
    {
        _dir = NewTempDirectory();
    }

    public static TheoryData<BpfMapSpec> Specs => new()
    {
        new BpfMapSpec("arr", BpfMapType.Array, 4, 8, 1),
        new BpfMapSpec("arr_big", BpfMapType.Array, 4, 100, 5000),
        new BpfMapSpec("arr_mmap", BpfMapType.Array, 4, 24, 3000, BpfMapFlags.Mmapable),
        new BpfMapSpec("pcpu_arr", BpfMapType.PerCpuArray, 4, 32, 777),
        new BpfMapSpec("prog_arr", BpfMapType.ProgArray, 4, 4, 16),
        new BpfMapSpec("hash", BpfMapType.Hash, 4, 8, 64),
        new BpfMapSpec("hash_odd", BpfMapType.Hash, 13, 21, 1000),
        new BpfMapSpec("pcpu_hash", BpfMapType.PerCpuHash, 8, 16, 500),
        new BpfMapSpec("lru", BpfMapType.LruHash, 8, 100, 1000),
        new BpfMapSpec("lru_pcpu", BpfMapType.LruPerCpuHash, 8, 8, 300),
        new BpfMapSpec("ring", BpfMapType.RingBuf, 0, 0, 256 * 1024),
        new BpfMapSpec("ring_small", BpfMapType.RingBuf, 0, 0, 4096),
        RuntimeConfigMap.Spec,
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public void Estimate_before_creation_equals_the_kernel_figure(BpfMapSpec spec)
    {
        var estimate = MapMemoryEstimator.Estimate(spec);
        using var map = Bpf.MapCreate(spec);
        Assert.Equal(Bpf.GetMemlock(map), estimate);
    }

    [Fact]
    public void Estimate_of_a_hash_without_preallocation_is_its_figure_when_full()
    {
        var spec = new BpfMapSpec("np", BpfMapType.Hash, 4, 8, 64, BpfMapFlags.NoPrealloc);
        using var map = Bpf.MapCreate(spec);
        Assert.True(Bpf.GetMemlock(map) < MapMemoryEstimator.Estimate(spec));
        for (var i = 0; i < 64; i++)
        {
            Bpf.MapUpdate(map, BitConverter.GetBytes(i), new byte[8]);
        }

        Assert.Equal(MapMemoryEstimator.Estimate(spec), Bpf.GetMemlock(map));
    }

    [Fact]
    public void Estimate_from_an_object_file_before_load_equals_the_kernel_figure_after_load()
    {
        using var file = BpfObjectFile.Open(Repository.BpfObject("lifecycle_xdp.o"));
        var specs = file.Maps.Select(m => m.Spec).ToArray();
        Assert.Contains(specs, s => s.Name == "bpflc_logs");
        Assert.Contains(file.Maps, m => m.IsInternal);
        var estimate = MapMemoryEstimator.EstimateAll(specs);
        using var loaded = file.Load();
        Assert.Equal(specs.Length, loaded.Maps.Count);
        var measured = MapMemoryEstimator.Measure(loaded.Maps);
        Assert.Equal(measured.Values.Sum(), estimate);
        Assert.True(estimate > 256 * 1024, $"the 256 KiB log ring dominates: {estimate}");
    }

    private GateContext Context(IReadOnlyList<BpfMapSpec> specs, int programs = 1, long? limit = null, params string[] stateMaps)
    {
        var art = TestFiles.WriteArtifact(_dir, "budget-" + Guid.NewGuid().ToString("N")[..6]);
        var manifest = Artifact.Load(art).Manifest with
        {
            Programs = Enumerable.Range(0, programs).Select(i => new ArtifactProgram($"p{i}", ["xdp:veth0"])).ToArray(),
            StateMaps = stateMaps,
            Limits = limit is null ? null : new ArtifactLimits(limit),
        };
        File.WriteAllBytes(Path.Combine(art, Artifact.ManifestFileName), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(manifest, ArtifactManifest.JsonOptions));
        return new GateContext("app", Artifact.Load(art), specs);
    }

    private static BpfProgramHandle LoadXdpUsing(BpfMapHandle? map)
    {
        var asm = new BpfAssembler();
        if (map is not null)
        {
            asm.LoadMapFd(BpfRegister.R1, map);
        }

        return Bpf.ProgramLoad(new BpfProgramSpec("budget_xdp", BpfProgramType.Xdp, asm.Return(2).Build()));
    }

    [Fact]
    public async Task Per_program_budget_refuses_before_load_and_artifact_limits_lower_it()
    {
        var pins = NewPinDirectory();
        var gate = new ResourceBudgetGate(new ResourceBudgetOptions { PerProgramBytes = 1024 * 1024 }, new PinnedResourceInventory(pins));
        var ct = TestContext.Current.CancellationToken;

        var big = await gate.CheckAsync(Context([new BpfMapSpec("flows", BpfMapType.Hash, 16, 64, 100_000), new BpfMapSpec("small", BpfMapType.Array, 4, 8, 1)]), ct);
        Assert.False(big.Allowed);
        var flows = MapMemoryEstimator.Estimate(new BpfMapSpec("flows", BpfMapType.Hash, 16, 64, 100_000));
        Assert.True(flows > 10 * 1024 * 1024);
        Assert.Contains($"needs {((flows + 320) / (1024.0 * 1024)).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)} MiB of map memory", big.Reason, StringComparison.Ordinal);
        Assert.Contains("over its budget of 1 MiB (largest maps: flows ", big.Reason, StringComparison.Ordinal);

        var small = Context([new BpfMapSpec("small", BpfMapType.Array, 4, 8, 1000)]);
        Assert.True((await gate.CheckAsync(small, ct)).Allowed);
        var limited = await gate.CheckAsync(Context([new BpfMapSpec("small", BpfMapType.Array, 4, 8, 1000)], limit: 4096), ct);
        Assert.False(limited.Allowed);
        Assert.Contains("over its budget of 4096 bytes", limited.Reason, StringComparison.Ordinal);

        Assert.Equal(200, gate.Order);
        Assert.Throws<ArgumentException>(() => new ResourceBudgetGate(new ResourceBudgetOptions { PerProgramBytes = 2, PerApplicationBytes = 1 }, new PinnedResourceInventory(pins)));
    }

    [Fact]
    public async Task Over_the_application_budget_unreferenced_maps_go_first_least_recently_used_and_maps_in_use_never()
    {
        var pins = NewPinDirectory();
        var ct = TestContext.Current.CancellationToken;
        using var audit = new FileAuditLog(new FileAuditLogOptions { Path = Path.Combine(_dir, "audit.jsonl") });
        var spec = new BpfMapSpec("state", BpfMapType.Array, 4, 1024, 100); // 102712 bytes
        var size = MapMemoryEstimator.Estimate(spec);

        void PinMap(string name, DateTime mtime, out BpfMapHandle handle)
        {
            handle = Track(Bpf.MapCreate(spec with { Name = name }));
            var path = Path.Combine(pins, name);
            Bpf.Pin(handle, path);
            File.SetLastWriteTimeUtc(path, mtime);
        }

        PinMap("retired_old", DateTime.UtcNow.AddHours(-3), out var oldMap);
        PinMap("retired_new", DateTime.UtcNow.AddHours(-1), out var newMap);
        PinMap("live", DateTime.UtcNow.AddHours(-5), out var liveMap);
        using (var program = LoadXdpUsing(liveMap))
        {
            Bpf.Pin(program, Path.Combine(pins, "live_prog"));
        }

        // Only the pins keep the retired maps alive from here on.
        oldMap.Dispose();
        newMap.Dispose();

        var inventory = new PinnedResourceInventory(pins, audit: audit);
        var before = inventory.Scan();
        Assert.Equal(3 * size, before.TotalMapBytes);
        Assert.Equal(2 * size, before.EvictableMapBytes);
        Assert.True(before.Maps.Single(m => m.Name == "live").InUse);

        var newVersion = new BpfMapSpec("fresh", BpfMapType.Array, 4, 1024, 100);
        var gate = new ResourceBudgetGate(new ResourceBudgetOptions { PerProgramBytes = 2 * size, PerApplicationBytes = (4 * size) - (size / 2) }, inventory);
        var allowed = await gate.CheckAsync(Context([newVersion]), ct);
        Assert.True(allowed.Allowed, allowed.Reason);
        Assert.Contains("after releasing 1 unreferenced map(s)", allowed.Reason, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(pins, "retired_old")));
        Assert.True(File.Exists(Path.Combine(pins, "retired_new")));
        Assert.True(File.Exists(Path.Combine(pins, "live")));

        // Needs more than everything evictable: the remaining retired map goes, the live one stays, and it is refused.
        var tight = new ResourceBudgetGate(new ResourceBudgetOptions { PerProgramBytes = 2 * size, PerApplicationBytes = 2 * size }, inventory);
        var denied = await tight.CheckAsync(Context([newVersion, newVersion with { Name = "fresh2" }]), ct);
        Assert.False(denied.Allowed);
        Assert.Contains("after releasing 1 unreferenced map(s)", denied.Reason, StringComparison.Ordinal);
        Assert.Contains("over its budget", denied.Reason, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(pins, "retired_new")));
        Assert.True(File.Exists(Path.Combine(pins, "live")));

        var evictions = AuditLogVerifier.ReadAll(audit.Path);
        Assert.Equal(["retired_old", "retired_new"], evictions.Select(e => e.Map));
        Assert.All(evictions, e => Assert.Equal(AuditAction.Evict, e.Action));
        Assert.Equal(size.ToString(System.Globalization.CultureInfo.InvariantCulture), evictions[0].Details["bytes"]);

        // State maps already pinned are reused, so they cost nothing new.
        var footprint = ResourceBudgetGate.Footprint(Context([spec with { Name = "live" }, newVersion], stateMaps: "live"), inventory.Scan());
        Assert.Equal(["live"], footprint.ReusedMaps);
        Assert.Equal(size, footprint.NewMapBytes);
    }

    [Fact]
    public async Task Program_count_limits_cover_owned_and_system_wide_programs()
    {
        var pins = NewPinDirectory();
        var ct = TestContext.Current.CancellationToken;
        using (var p = LoadXdpUsing(null))
        {
            Bpf.Pin(p, Path.Combine(pins, "prog_a"));
        }

        var inventory = new PinnedResourceInventory(pins);
        var owned = await new ResourceBudgetGate(new ResourceBudgetOptions { MaxPrograms = 2 }, inventory).CheckAsync(Context([], programs: 2), ct);
        Assert.False(owned.Allowed);
        Assert.Contains("adds 2 program(s) to the 1 the application owns, over the limit of 2", owned.Reason, StringComparison.Ordinal);
        Assert.True((await new ResourceBudgetGate(new ResourceBudgetOptions { MaxPrograms = 3 }, inventory).CheckAsync(Context([], programs: 2), ct)).Allowed);

        var system = PinnedResourceInventory.CountSystemPrograms();
        Assert.NotNull(system);
        Assert.True(system >= 1);
        // Other processes load and unload programs at any time, so the refusal is checked against a fixed count.
        var refused = await new ResourceBudgetGate(new ResourceBudgetOptions { MaxSystemPrograms = 50 }, inventory, () => 50).CheckAsync(Context([]), ct);
        Assert.False(refused.Allowed, refused.Reason);
        Assert.Contains("adds 1 program(s) to the 50 loaded system-wide, over the limit of 50", refused.Reason, StringComparison.Ordinal);
        Assert.True((await new ResourceBudgetGate(new ResourceBudgetOptions { MaxSystemPrograms = int.MaxValue - 1 }, inventory).CheckAsync(Context([]), ct)).Allowed);
        var unknown = new ResourceBudgetGate(new ResourceBudgetOptions { MaxSystemPrograms = 1 }, inventory, () => null);
        Assert.True((await unknown.CheckAsync(Context([]), ct)).Allowed);
    }

    [Fact]
    public async Task Programs_whose_run_count_does_not_move_are_cleaned_up_and_audited()
    {
        var pins = NewPinDirectory();
        using var audit = new FileAuditLog(new FileAuditLogOptions { Path = Path.Combine(_dir, "audit.jsonl") });
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var busy = LoadXdpUsing(null);
        Bpf.Pin(busy, Path.Combine(pins, "busy"));
        using (var idle = LoadXdpUsing(null))
        {
            Bpf.Pin(idle, Path.Combine(pins, "idle"));
        }

        using var reaper = new IdleProgramReaper(new PinnedResourceInventory(pins), new IdleProgramOptions { IdleAfter = TimeSpan.FromMinutes(30) }, time, audit);
        Assert.True(reaper.StatisticsEnabled);
        Assert.Empty(reaper.Scan());

        var packet = new byte[64];
        time.Advance(TimeSpan.FromMinutes(20));
        Bpf.TestRun(busy, packet, [], 10);
        Assert.Empty(await reaper.CleanupAsync(TestContext.Current.CancellationToken));

        time.Advance(TimeSpan.FromMinutes(11));
        Bpf.TestRun(busy, packet, [], 10);
        var cleaned = await reaper.CleanupAsync(TestContext.Current.CancellationToken);
        Assert.Equal(Path.Combine(pins, "idle"), Assert.Single(cleaned).PinPath);
        Assert.False(File.Exists(Path.Combine(pins, "idle")));
        Assert.True(File.Exists(Path.Combine(pins, "busy")));

        var entry = Assert.Single(AuditLogVerifier.ReadAll(audit.Path));
        Assert.Equal(AuditAction.IdleCleanup, entry.Action);
        Assert.Equal("budget_xdp", entry.Program);
        Assert.Equal("0", entry.Details["runCount"]);
    }

    [Fact]
    public async Task Cpu_overhead_over_the_limit_halves_sampling_through_runtime_config_records_and_alerts()
    {
        var pins = NewPinDirectory();
        using var audit = new FileAuditLog(new FileAuditLogOptions { Path = Path.Combine(_dir, "audit.jsonl") });
        using var config = RuntimeConfigMap.OpenOrCreate(Path.Combine(pins, "bpflc_config"), audit);
        config.Set("log_sample_percent", 100, "initial");
        using var file = BpfObjectFile.Open(Repository.BpfObject("lifecycle_xdp.o"));
        file.ReuseMap(RuntimeConfigMap.MapName, config.Handle);
        using var loaded = file.Load();
        var program = loaded.GetProgram("lifecycle_xdp");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var sink = Substitute.For<IAlertSink>();
        using var monitor = new CpuOverheadMonitor("app", config, new CpuOverheadOptions(), time, audit, [sink]);
        Assert.True(monitor.StatisticsEnabled);
        monitor.Watch("lifecycle_xdp", "1.0.0", program);
        var ct = TestContext.Current.CancellationToken;
        var packet = new byte[64];

        // Far more kernel run time than 5% of 2 CPUs over 1 ms of (fake) wall time.
        Bpf.TestRun(program, packet, [], 20_000);
        time.Advance(TimeSpan.FromMilliseconds(1));
        var first = Assert.Single(await monitor.SampleAsync(ct));
        Assert.True(first.Throttled);
        Assert.True(first.Share > 0.05, $"share {first.Share}");
        Assert.Equal(100ul, first.OldSamplingPercent);
        Assert.Equal(50ul, first.NewSamplingPercent);
        Assert.Equal(50ul, config.Get("log_sample_percent", 0));

        // Idle for an hour: under the limit, unchanged.
        time.Advance(TimeSpan.FromHours(1));
        var quiet = Assert.Single(await monitor.SampleAsync(ct));
        Assert.False(quiet.Throttled);
        Assert.Equal(50ul, config.Get("log_sample_percent", 0));

        Bpf.TestRun(program, packet, [], 20_000);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(25ul, Assert.Single(await monitor.SampleAsync(ct)).NewSamplingPercent);

        await sink.Received(2).SendAsync(Arg.Is<Alert>(a => a.Rule == "cpu-overhead" && a.Program.Program == "lifecycle_xdp" && a.Threshold == 0.05), Arg.Any<CancellationToken>());
        var entries = AuditLogVerifier.ReadAll(audit.Path);
        Assert.Equal(
            [AuditAction.ConfigChange, AuditAction.ConfigChange, AuditAction.Throttle, AuditAction.ConfigChange, AuditAction.Throttle],
            entries.Select(e => e.Action));
        Assert.Equal("cpu-overhead", entries[1].Details["reason"]);
        Assert.Equal("25", entries[4].Details["new"]);
        Assert.True(monitor.Unwatch("lifecycle_xdp"));
    }
}
