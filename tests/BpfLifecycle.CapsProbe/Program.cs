// Capability probe run as a child process by the capability tests: lowers the main thread to the capabilities
// given with --keep, then reports (key=value lines) what the kernel sees and which BPF operations still work.
using BpfLifecycle.Interop;
using BpfLifecycle.Interop.Asm;

var keepArg = args.Length == 2 && args[0] == "--keep" ? args[1] : null;
if (keepArg is null)
{
    Console.Error.WriteLine("usage: BpfLifecycle.CapsProbe --keep CAP_BPF,CAP_NET_ADMIN|none");
    return 2;
}

// A thread that exists before the drop: capabilities are per thread, so it is expected to keep its sets.
using var release = new ManualResetEventSlim();
var bystanderTid = 0;
using var started = new ManualResetEventSlim();
var bystander = new Thread(() =>
{
    bystanderTid = Capabilities.CurrentThreadId();
    started.Set();
    release.Wait();
});
bystander.Start();
started.Wait();

var before = Capabilities.Current();
Report("before.eff", before.Effective.ToHex());
var after = Capabilities.DropTo(CapabilitySet.Parse(keepArg));
Report("thread.tid", after.ThreadId.ToString(System.Globalization.CultureInfo.InvariantCulture));
Report("thread.eff", after.Effective.ToHex());
Report("thread.prm", after.Permitted.ToHex());
Report("thread.inh", after.Inheritable.ToHex());
Report("thread.names", after.Effective.ToString());
Report("status.CapEff", StatusField("CapEff"));
Report("status.CapPrm", StatusField("CapPrm"));
Report("bystander.eff", Capabilities.OfThread(bystanderTid).Effective.ToHex());

var childEff = string.Empty;
var child = new Thread(() => childEff = Capabilities.Current().Effective.ToHex());
child.Start();
child.Join();
Report("spawned.eff", childEff);

Report("missing.map", Capabilities.Missing(BpfOperation.CreateMap).ToString());
Report("missing.xdp", Capabilities.Missing(BpfOperation.LoadXdp).ToString());
Report("missing.tracepoint", Capabilities.Missing(BpfOperation.LoadTracepoint).ToString());

// Every operation below runs on this (dropped) thread: bpf(2) checks the calling thread's credentials.
Report("op.tid", Capabilities.CurrentThreadId().ToString(System.Globalization.CultureInfo.InvariantCulture));
Report("map", Try(() => Bpf.MapCreate(new BpfMapSpec("caps_map", BpfMapType.Array, 4, 4, 1)).Dispose()));
Report("socket_filter", Try(() => Load("caps_sf", BpfProgramType.SocketFilter)));
Report("xdp", Try(() => Load("caps_xdp", BpfProgramType.Xdp)));
Report("tracepoint", Try(() => Load("caps_tp", BpfProgramType.Tracepoint)));
Report("stats", Try(() => Bpf.EnableStats().Dispose()));
Report("enumerate", Try(() => _ = BpfObjects.EnumerateMapIds().Count()));

// A dropped capability cannot be raised again.
Report("regain", RegainNetAdmin());

release.Set();
bystander.Join();
return 0;

static void Load(string name, BpfProgramType type)
    => Bpf.ProgramLoad(new BpfProgramSpec(name, type, new BpfAssembler().Return(0).Build())).Dispose();

static string Try(Action action)
{
    try
    {
        action();
        return "ok";
    }
    catch (BpfException e)
    {
        return e.ErrnoName;
    }
}

static string RegainNetAdmin()
{
    var current = Capabilities.Current().Effective;
    try
    {
        Capabilities.DropTo(current.With(Capability.NetAdmin));
        return current.Contains(Capability.NetAdmin) ? "kept" : "raised";
    }
    catch (ArgumentException e)
    {
        return e.Message.Contains("Cannot keep CAP_NET_ADMIN", StringComparison.Ordinal) ? "refused" : e.Message;
    }
}

static string StatusField(string name)
{
    foreach (var line in File.ReadLines("/proc/thread-self/status"))
    {
        if (line.StartsWith(name + ":", StringComparison.Ordinal))
        {
            return line[(name.Length + 1)..].Trim();
        }
    }

    return "?";
}

static void Report(string key, string value) => Console.WriteLine($"{key}={value}");
