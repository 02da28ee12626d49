// Kernel tests of the libbpf ELF object loader: spec listing before load, globals, map reuse, autoload,
// verifier failures, log routing and descriptor ownership.
using System.Collections.Concurrent;
using BpfLifecycle.TestKit;
using static BpfLifecycle.Interop.Tests.LibbpfTestSupport;

namespace BpfLifecycle.Interop.Tests;

public sealed class BpfObjectFileTests : KernelTestBase
{
    private const uint XdpDrop = 1;
    private const uint XdpPass = 2;
    private const uint XdpTx = 3;

    private static readonly (string Name, BpfMapType Type, uint Key, uint Value, uint Max)[] UserMaps =
    [
        ("flows", BpfMapType.Hash, 4, 8, 64),
        ("counters", BpfMapType.Array, 4, 8, 4),
        ("percpu_hits", BpfMapType.PerCpuArray, 4, 8, 1),
        ("events", BpfMapType.RingBuf, 0, 0, 16384),
        ("jump_table", BpfMapType.ProgArray, 4, 4, 2),
        ("settings", BpfMapType.Array, 4, 4, 1),
    ];

    public BpfObjectFileTests()
    {
        Defer(() => Libbpf.SetLogger(null));
    }

    [Fact]
    public void Open_from_file_lists_programs_and_maps_before_load()
    {
        using var obj = BpfObjectFile.Open(Repository.BpfObject("multi_prog"));
        AssertMultiProgSpec(obj, "multi_prog");
    }

    [Fact]
    public void Open_from_memory_lists_the_same_specs_under_the_given_name()
    {
        var bytes = File.ReadAllBytes(Repository.BpfObject("multi_prog"));
        using var obj = BpfObjectFile.Open(bytes, "from_mem");
        // The bytes are only read while opening: clobbering them afterwards must not matter.
        Array.Clear(bytes);
        AssertMultiProgSpec(obj, "from_mem");
        using var loaded = obj.Load();
        Assert.Equal(["count_socket", "xdp_entry"], loaded.Programs.Keys.Order());
    }

    private static void AssertMultiProgSpec(BpfObjectFile obj, string objectName)
    {
        Assert.Equal(objectName, obj.Name);
        var programs = obj.Programs;
        Assert.Equal(2, programs.Count);
        var xdp = programs.Single(p => p.Name == "xdp_entry");
        Assert.Equal(("xdp", BpfProgramType.Xdp, (BpfAttachType?)BpfAttachType.Xdp, true), (xdp.SectionName, xdp.Type, xdp.ExpectedAttachType, xdp.Autoload));
        Assert.InRange(xdp.InstructionCount, 20, 200);
        var sock = programs.Single(p => p.Name == "count_socket");
        Assert.Equal(("socket", BpfProgramType.SocketFilter, (BpfAttachType?)null, true), (sock.SectionName, sock.Type, sock.ExpectedAttachType, sock.Autoload));
        Assert.InRange(sock.InstructionCount, 5, 100);
        Assert.Equal(sock, obj.GetProgram("count_socket"));

        var maps = obj.Maps;
        foreach (var (name, type, key, value, max) in UserMaps)
        {
            var m = maps.Single(x => x.Name == name);
            Assert.Equal((type, key, value, max, BpfMapFlags.None, false), (m.Spec.Type, m.Spec.KeySize, m.Spec.ValueSize, m.Spec.MaxEntries, m.Spec.Flags, m.IsInternal));
        }

        // Global-variable maps: .rodata is read-only for programs; all three hold one 4-byte variable.
        var internals = maps.Where(m => m.IsInternal).ToDictionary(m => m.SectionName!);
        Assert.Equal([".data", ".rodata", ".rodata.limits"], internals.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(maps.Count, UserMaps.Length + 3);
        var prefix = objectName.Length > 8 ? objectName[..8] : objectName;
        Assert.Equal(prefix + ".rodata", internals[".rodata"].Name);
        Assert.Equal(prefix + ".data", internals[".data"].Name);
        Assert.Equal(".rodata.limits", internals[".rodata.limits"].Name);
        Assert.All(internals.Values, m => Assert.Equal((BpfMapType.Array, 4u, 4u, 1u), (m.Spec.Type, m.Spec.KeySize, m.Spec.ValueSize, m.Spec.MaxEntries)));
        Assert.True(internals[".rodata"].Spec.Flags.HasFlag(BpfMapFlags.ReadOnlyProg));
        Assert.False(internals[".data"].Spec.Flags.HasFlag(BpfMapFlags.ReadOnlyProg));
        Assert.Equal(internals[".rodata"], obj.GetMap(".rodata"));

        var vars = obj.Variables.ToDictionary(v => v.Name);
        Assert.Equal(new BpfObjectVariable("verdict", ".rodata", 0, 4), vars["verdict"]);
        Assert.Equal(new BpfObjectVariable("weight", ".data", 0, 4), vars["weight"]);
        Assert.Equal(new BpfObjectVariable("snap_len", ".rodata.limits", 0, 4), vars["snap_len"]);
        Assert.Equal(3, vars.Count);
        Assert.Equal(BitConverter.GetBytes(3u), obj.GetGlobal("weight"));
        Assert.Equal(BitConverter.GetBytes(1500u), obj.GetGlobal("snap_len"));
    }

    [Fact]
    public void Loaded_programs_run_and_use_the_objects_maps()
    {
        using var obj = BpfObjectFile.Open(Repository.BpfObject("multi_prog"));
        using var loaded = obj.Load();
        var xdp = loaded.GetProgram("xdp_entry");
        Assert.Equal(XdpPass, TestRun(xdp, UdpPacket()));
        Assert.Equal(XdpPass, TestRun(xdp, UdpPacket()));
        Assert.Equal(2UL, ReadU64(loaded.GetMap("counters"), 0));
        Assert.Equal(2UL, ReadU64(loaded.GetMap("flows"), 64));
        var info = Bpf.GetProgramInfo(xdp);
        Assert.Equal((BpfProgramType.Xdp, "xdp_entry"), (info.Type, info.Name));
        foreach (var name in new[] { "flows", "counters", "percpu_hits", "events", "jump_table", "settings", ".rodata" })
        {
            Assert.Contains(Bpf.GetMapInfo(loaded.GetMap(name)).Id, info.MapIds);
        }


        // The socket filter adds the .data weight (3) per run and truncates to .rodata.limits snap_len (1500);
        // a socket filter test run sees the frame without its 14-byte Ethernet header.
        Assert.Equal(50u, TestRun(loaded.GetProgram("count_socket"), UdpPacket()));
        Assert.Equal(3UL, ReadU64(loaded.GetMap("counters"), 1));
        Assert.Same(loaded.GetMap("multi_pr.rodata"), loaded.GetMap(".rodata"));
        Assert.Equal(BpfMapType.RingBuf, Bpf.GetMapInfo(loaded.Maps["events"]).Type);
        Assert.Throws<InvalidOperationException>(() => obj.Load());
        Assert.Throws<InvalidOperationException>(() => obj.SetGlobal("verdict", XdpDrop));
    }

    [Fact]
    public void Rodata_set_before_load_changes_the_verdict()
    {
        using var obj = BpfObjectFile.Open(Repository.BpfObject("xdp_counter"));
        obj.SetGlobal("verdict", XdpDrop);
        Assert.Equal(BitConverter.GetBytes(XdpDrop), obj.GetGlobal("verdict"));
        using var loaded = obj.Load();
        var prog = loaded.GetProgram("xdp_count");
        Assert.Equal(XdpDrop, TestRun(prog, UdpPacket()));
        Assert.Equal(1UL, ReadU64(loaded.GetMap("packet_count"), 1));

        using var plain = BpfObjectFile.Open(Repository.BpfObject("xdp_counter"));
        using var plainLoaded = plain.Load();
        Assert.Equal(XdpPass, TestRun(plainLoaded.GetProgram("xdp_count"), UdpPacket()));
    }

    [Fact]
    public void Data_and_custom_rodata_globals_set_before_load_reach_the_program()
    {
        using var obj = BpfObjectFile.Open(Repository.BpfObject("multi_prog"));
        obj.SetGlobal("weight", 10u);
        obj.SetGlobal("snap_len", new byte[] { 20, 0, 0, 0 });
        using var loaded = obj.Load();
        var sock = loaded.GetProgram("count_socket");
        Assert.Equal(20u, TestRun(sock, UdpPacket()));
        Assert.Equal(20u, TestRun(sock, UdpPacket()));
        Assert.Equal(20UL, ReadU64(loaded.GetMap("counters"), 1));
    }

    [Fact]
    public void Bad_globals_are_refused_with_a_clear_error()
    {
        using var obj = BpfObjectFile.Open(Repository.BpfObject("multi_prog"));
        var missing = Assert.Throws<KeyNotFoundException>(() => obj.SetGlobal("nope", 1u));
        Assert.Contains("no global variable 'nope'", missing.Message, StringComparison.Ordinal);
        Assert.Contains("verdict (.rodata)", missing.Message, StringComparison.Ordinal);
        var size = Assert.Throws<ArgumentException>(() => obj.SetGlobal("verdict", 1UL));
        Assert.Contains("is 4 bytes; the value given is 8 bytes", size.Message, StringComparison.Ordinal);
        Assert.Throws<KeyNotFoundException>(() => obj.SetAutoload("nope", false));
        Assert.Contains("jump_table", Assert.Throws<KeyNotFoundException>(() => obj.GetMap("nope")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reused_map_entries_written_before_load_are_seen_by_the_program()
    {
        using var settings = Bpf.MapCreate(new BpfMapSpec("my_settings", BpfMapType.Array, 4, 4, 1));
        Bpf.MapUpdate(settings, BitConverter.GetBytes(0u), BitConverter.GetBytes(XdpTx));
        using var obj = BpfObjectFile.Open(Repository.BpfObject("multi_prog"));
        obj.ReuseMap("settings", settings);
        Assert.True(obj.GetMap("settings").IsReused);
        Assert.False(obj.GetMap("counters").IsReused);
        using var loaded = obj.Load();
        var xdp = loaded.GetProgram("xdp_entry");
        Assert.Equal(XdpTx, TestRun(xdp, UdpPacket()));

        // Same kernel map: a write through the caller's handle after load steers the program too.
        var reused = loaded.GetMap("settings");
        Assert.Equal(Bpf.GetMapInfo(settings).Id, Bpf.GetMapInfo(reused).Id);
        Bpf.MapUpdate(settings, BitConverter.GetBytes(0u), BitConverter.GetBytes(XdpDrop));
        Assert.Equal(XdpDrop, TestRun(xdp, UdpPacket()));
        Assert.NotEqual(settings.Fd, reused.Fd);
    }

    [Fact]
    public void Incompatible_reuse_names_every_difference()
    {
        using var wrongKey = Bpf.MapCreate(new BpfMapSpec("bad_settings", BpfMapType.Array, 4, 8, 1));
        using var wrongType = Bpf.MapCreate(new BpfMapSpec("bad_flows", BpfMapType.LruHash, 8, 8, 128));
        using var obj = BpfObjectFile.Open(Repository.BpfObject("multi_prog"));
        var ex = Assert.Throws<BpfMapIncompatibleException>(() => obj.ReuseMap("settings", wrongKey));
        Assert.Equal("settings", ex.MapName);
        Assert.Equal(["ValueSize: 4 changed to 8"], ex.Differences);
        Assert.Contains("Map 'settings' cannot reuse the given map: ValueSize: 4 changed to 8", ex.Message, StringComparison.Ordinal);

        ex = Assert.Throws<BpfMapIncompatibleException>(() => obj.ReuseMap("flows", wrongType));
        Assert.Equal(["Type: Hash changed to LruHash", "KeySize: 4 changed to 8", "MaxEntries: 64 changed to 128"], ex.Differences);

        // The failed reuse left the object untouched: it still creates its own maps.
        Assert.False(obj.GetMap("flows").IsReused);
        using var loaded = obj.Load();
        Assert.NotEqual(Bpf.GetMapInfo(wrongType).Id, Bpf.GetMapInfo(loaded.GetMap("flows")).Id);
    }

    [Fact]
    public void Verifier_rejection_carries_the_log_and_autoload_off_avoids_it()
    {
        using (var obj = BpfObjectFile.Open(Repository.BpfObject("verifier_reject")))
        {
            var ex = Assert.Throws<BpfVerifierException>(() => obj.Load());
            Assert.Equal("xdp_unchecked", ex.ProgramName);
            Assert.Equal(Errno.EACCES, ex.Errno);
            Assert.Contains("invalid access to packet", ex.VerifierLog, StringComparison.Ordinal);
            Assert.Contains("invalid access to packet", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("END PROG LOAD LOG", ex.VerifierLog, StringComparison.Ordinal);
            // Longer than the 512-byte first formatting buffer: proves the retry from a fresh va_list copy.
            Assert.True(ex.VerifierLog.Length > 512, $"log of {ex.VerifierLog.Length} bytes");
            Assert.Contains("R1", ex.VerifierLog[..200], StringComparison.Ordinal);
            var retry = Assert.Throws<InvalidOperationException>(() => obj.Load());
            Assert.Contains("open it again", retry.Message, StringComparison.Ordinal);
        }

        using var again = BpfObjectFile.Open(Repository.BpfObject("verifier_reject"));
        again.SetAutoload("xdp_unchecked", false);
        Assert.False(again.GetProgram("xdp_unchecked").Autoload);
        using var loaded = again.Load();
        Assert.Equal(["xdp_fine"], loaded.Programs.Keys);
        Assert.Equal(XdpPass, TestRun(loaded.GetProgram("xdp_fine"), UdpPacket()));
        var missing = Assert.Throws<KeyNotFoundException>(() => loaded.GetProgram("xdp_unchecked"));
        Assert.Contains("autoload off", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Libbpf_messages_reach_the_logger_formatted()
    {
        var messages = new ConcurrentQueue<(LibbpfLogLevel Level, string Text)>();
        Libbpf.SetLogger((level, text) => messages.Enqueue((level, text)));
        using (var obj = BpfObjectFile.Open(Repository.BpfObject("verifier_reject")))
        {
            Assert.Throws<BpfVerifierException>(() => obj.Load());
        }

        // printf arguments were substituted: object, section and program names appear, no raw conversions.
        Assert.Contains(messages, m => m.Level == LibbpfLogLevel.Debug && m.Text.Contains("verifier_reject", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Level == LibbpfLogLevel.Warning && m.Text.Contains("prog 'xdp_unchecked': -- BEGIN PROG LOAD LOG --", StringComparison.Ordinal));
        Assert.DoesNotContain(messages, m => m.Text.Contains("%s", StringComparison.Ordinal) || m.Text.Contains("%d", StringComparison.Ordinal));

        Libbpf.SetLogger(null);
        var count = messages.Count;
        using (BpfObjectFile.Open(Repository.BpfObject("xdp_counter")))
        {
        }

        Assert.Equal(count, messages.Count);
    }

    [Fact]
    public void Logger_that_throws_does_not_break_loading()
    {
        Libbpf.SetLogger((_, _) => throw new InvalidOperationException("logger failure"));
        using var obj = BpfObjectFile.Open(Repository.BpfObject("xdp_counter"));
        using var loaded = obj.Load();
        Assert.Single(loaded.Programs);
        Assert.Contains(loaded.LibbpfLog, m => m.Text.Contains("map 'packet_count': created", StringComparison.Ordinal));
    }

    [Fact]
    public void Concurrent_loads_keep_their_logs_apart()
    {
        var errors = new ConcurrentBag<BpfVerifierException>();
        var loadedPrograms = new ConcurrentBag<int>();
        Parallel.For(0, 8, i =>
        {
            if (i % 2 == 0)
            {
                using var bad = BpfObjectFile.Open(Repository.BpfObject("verifier_reject"));
                errors.Add(Assert.Throws<BpfVerifierException>(() => bad.Load()));
            }
            else
            {
                using var good = BpfObjectFile.Open(Repository.BpfObject("multi_prog"));
                using var loaded = good.Load();
                loadedPrograms.Add(loaded.Programs.Count);
                Assert.DoesNotContain(loaded.LibbpfLog, m => m.Text.Contains("verifier_reject", StringComparison.Ordinal));
            }
        });
        Assert.Equal(4, errors.Count);
        Assert.All(errors, e => Assert.Equal("xdp_unchecked", e.ProgramName));
        Assert.Equal([2, 2, 2, 2], loadedPrograms);
    }

    [Fact]
    public void Handles_outlive_the_object_file_and_dispose_closes_everything()
    {
        var before = BpfFds.AnonymousInodes();
        var obj = BpfObjectFile.Open(Repository.BpfObject("multi_prog"));
        var loaded = obj.Load();
        var xdp = loaded.GetProgram("xdp_entry");
        var counters = loaded.GetMap("counters");

        // Closing the libbpf object releases libbpf's own descriptors; ours are duplicates and keep working.
        var whileLoaded = BpfFds.AnonymousInodes().Count - before.Count;
        obj.Dispose();
        var afterClose = BpfFds.AnonymousInodes().Count - before.Count;
        Assert.Equal(loaded.Programs.Count + loaded.Maps.Count, afterClose);
        Assert.True(whileLoaded > afterClose, $"libbpf held {whileLoaded} descriptors, ours {afterClose}");
        Assert.Equal(XdpPass, TestRun(xdp, UdpPacket()));
        Assert.Equal(1UL, ReadU64(counters, 0));

        loaded.Dispose();
        Assert.True(xdp.IsClosed);
        Assert.True(counters.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => loaded.GetMap("counters"));
        var leaked = BpfFds.AnonymousInodes().Where(kv => !before.ContainsKey(kv.Key)).ToList();
        Assert.Empty(leaked);
        Assert.Throws<ObjectDisposedException>(() => obj.Programs);
    }

    [Fact]
    public void Dispose_without_load_leaves_no_descriptor()
    {
        var before = BpfFds.AnonymousInodes();
        using (var obj = BpfObjectFile.Open(Repository.BpfObject("multi_prog")))
        {
            obj.SetGlobal("verdict", XdpDrop);
        }

        using (var failed = BpfObjectFile.Open(Repository.BpfObject("verifier_reject")))
        {
            Assert.Throws<BpfVerifierException>(() => failed.Load());
        }

        Assert.DoesNotContain(BpfFds.AnonymousInodes(), kv => !before.ContainsKey(kv.Key));
    }

    [Fact]
    public void Pin_by_name_maps_land_under_the_pin_root_and_are_reused_on_reload()
    {
        var root = NewPinDirectory();
        var options = new BpfObjectOpenOptions { PinRootPath = root };
        using (var first = BpfObjectFile.Open(Repository.BpfObject("pinned_state"), options))
        using (var loaded = first.Load())
        {
            var prog = loaded.GetProgram("xdp_state");
            TestRun(prog, UdpPacket());
            TestRun(prog, UdpPacket());
            using var pinned = Bpf.GetPinnedMap(Path.Combine(root, "shared_state"));
            Assert.Equal(Bpf.GetMapInfo(loaded.GetMap("shared_state")).Id, Bpf.GetMapInfo(pinned).Id);
        }

        // A second version of the object picks up the pinned map, and with it the state.
        using var second = BpfObjectFile.Open(File.ReadAllBytes(Repository.BpfObject("pinned_state")), "pinned_state_v2", options);
        using var reloaded = second.Load();
        TestRun(reloaded.GetProgram("xdp_state"), UdpPacket());
        Assert.Equal(3UL, ReadU64(reloaded.GetMap("shared_state"), 0));
    }

    [Fact]
    public void Mismatched_pinned_map_fails_the_load_with_libbpfs_reason()
    {
        var root = NewPinDirectory();
        using (var wrong = Bpf.MapCreate(new BpfMapSpec("shared_state", BpfMapType.Hash, 4, 8, 1)))
        {
            Bpf.Pin(wrong, Path.Combine(root, "shared_state"));
        }

        using var obj = BpfObjectFile.Open(Repository.BpfObject("pinned_state"), new BpfObjectOpenOptions { PinRootPath = root });
        var ex = Assert.Throws<LibbpfException>(() => obj.Load());
        Assert.Contains("bpf_object__load('pinned_state')", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"couldn't reuse pinned map at '{root}/shared_state': parameter mismatch", ex.Message, StringComparison.Ordinal);
        Assert.Contains(ex.LibbpfLog, m => m.Level == LibbpfLogLevel.Warning);

        var badRoot = Assert.Throws<ArgumentException>(() => BpfObjectFile.Open(Repository.BpfObject("pinned_state"), new BpfObjectOpenOptions { PinRootPath = root + "/missing" }));
        Assert.Contains("is not an existing directory", badRoot.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unreadable_objects_fail_with_libbpf_reasons()
    {
        var missing = Assert.Throws<FileNotFoundException>(() => BpfObjectFile.Open("/nonexistent/x.o"));
        Assert.Contains("/nonexistent/x.o", missing.Message, StringComparison.Ordinal);

        var garbage = Assert.Throws<LibbpfException>(() => BpfObjectFile.Open(new byte[256], "garbage"));
        Assert.Contains("bpf_object__open_mem('garbage', 256 bytes)", garbage.Message, StringComparison.Ordinal);
        Assert.NotEmpty(garbage.LibbpfLog);
        Assert.True(garbage.Errno > 0);
        Assert.Throws<ArgumentException>(() => BpfObjectFile.Open(ReadOnlyMemory<byte>.Empty, "empty"));
    }
}
