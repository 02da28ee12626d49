// Entry point of bpflc, the lifecycle host: parses the command line and runs each command inside a Generic Host
// so every command gets the same configuration (appsettings.json, BPFLC_* environment variables), logging and DI.
using System.CommandLine;
using System.Runtime.InteropServices;
using BpfLifecycle.Host;
using BpfLifecycle.Host.Demo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var appOption = new Option<string?>("--app") { Description = "Application name; isolates its deployments, state and pins (default: 'default').", Recursive = true };
var stateDirOption = new Option<string?>("--state-dir") { Description = "State directory of the application (default: /var/lib/bpflifecycle/<app>).", Recursive = true };
var pinRootOption = new Option<string?>("--pin-root") { Description = "bpffs pin directory of the application (default: /sys/fs/bpf/bpflifecycle/<app>).", Recursive = true };

var root = new RootCommand("bpflc: deploy eBPF programs from signed artifacts, roll them out by strategy, watch them and roll them back.");
root.Options.Add(appOption);
root.Options.Add(stateDirOption);
root.Options.Add(pinRootOption);

var keepOption = new Option<bool>("--keep") { Description = "Leave the demo running until Ctrl+C." };
var demo = new Command("demo", "Create a private veth pair and namespace, attach a real XDP program, send traffic through it and clean up.") { keepOption };
demo.SetAction((parse, ct) => RunAsync(parse, ct, (sp, token) => sp.GetRequiredService<DemoCommand>().RunAsync(parse.GetValue(keepOption), token)));
root.Subcommands.Add(demo);

// Ctrl+C, SIGTERM (systemd stop) and SIGHUP all cancel the running command so it can undo what it made.
using var shutdown = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Cancel);
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, shutdown.Token);

void Cancel(PosixSignalContext context)
{
    context.Cancel = true;
    shutdown.Cancel();
}

async Task<int> RunAsync(ParseResult parse, CancellationToken ct, Func<IServiceProvider, CancellationToken, Task<int>> body)
{
    try
    {
        using var host = BuildHost(parse);
        return await body(host.Services, ct);
    }
    catch (OperationCanceledException) when (ct.IsCancellationRequested)
    {
        await Console.Error.WriteLineAsync("interrupted");
        return ExitCodes.Interrupted;
    }
    catch (ArgumentException e)
    {
        await Console.Error.WriteLineAsync($"error: {e.Message}");
        return ExitCodes.Usage;
    }
    catch (Exception e) when (e is BpfLifecycle.Interop.BpfException or InvalidOperationException or IOException or UnauthorizedAccessException)
    {
        await Console.Error.WriteLineAsync($"error: {e.Message}");
        return ExitCodes.Error;
    }
}

IHost BuildHost(ParseResult parse)
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
    {
        ContentRootPath = AppContext.BaseDirectory,
        Args = [],
    });
    builder.Configuration.AddEnvironmentVariables("BPFLC_");
    // Command output goes to stdout; logs go to stderr so `--json` output stays machine-readable.
    builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    builder.Services.AddSystemd();

    var settings = builder.Configuration.GetSection("BpfLifecycle").Get<HostSettings>() ?? new HostSettings();
    var paths = HostPaths.Resolve(settings, parse.GetValue(appOption), parse.GetValue(stateDirOption), parse.GetValue(pinRootOption));
    builder.Services.AddSingleton(paths);
    builder.Services.AddSingleton(TimeProvider.System);
    builder.Services.AddSingleton<TextWriter>(Console.Out);
    builder.Services.Configure<DemoOptions>(builder.Configuration.GetSection("Demo"));
    builder.Services.AddTransient<DemoCommand>();
    return builder.Build();
}
