// Entry point of bpflc, the lifecycle host: parses the command line and runs each command inside a Generic Host
// so every command gets the same configuration (appsettings.json, BPFLC_* environment variables), logging and DI.
// The SDK is composed once, by services.AddBpfLifecycle(configuration); --app, --state-dir and --pin-root are
// configuration overrides of BpfLifecycle:Application, :StateDirectory and :PinRoot. All of the host's configuration
// is in the BpfLifecycle section (HostConfiguration.cs); every option is validated before a command runs.
using System.CommandLine;
using System.Runtime.InteropServices;
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Gates;
using BpfLifecycle.Deployment.Security;
using BpfLifecycle.Deployment;
using BpfLifecycle.Host.Agent;
using BpfLifecycle.Host.Commands;
using BpfLifecycle.Host.Demo;
using BpfLifecycle.Host.Lifecycle;
using BpfLifecycle.Host;
using BpfLifecycle.Observability.Audit;
using BpfLifecycle.Observability.Health;
using BpfLifecycle.Observability.Metrics;
using BpfLifecycle.Observability;
using BpfLifecycle;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

var appOption = new Option<string?>("--app") { Description = "Application name; isolates its deployments, state and pins (default: 'default').", Recursive = true };
var stateDirOption = new Option<string?>("--state-dir") { Description = "State directory of the application (default: /var/lib/bpflifecycle/<app>).", Recursive = true };
var pinRootOption = new Option<string?>("--pin-root") { Description = "bpffs pin directory of the application (default: /sys/fs/bpf/bpflifecycle/<app>).", Recursive = true };

var root = new RootCommand("bpflc: deploy eBPF programs from signed artifacts, roll them out by strategy, watch them and roll them back.");
root.Options.Add(appOption);
root.Options.Add(stateDirOption);
root.Options.Add(pinRootOption);

var jsonOption = new Option<bool>("--json") { Description = "Write JSON for scripts instead of text." };

var artifactArgument = new Argument<string>("artifact") { Description = "Artifact directory: the BPF object, manifest.json and manifest.json.sig." };
var strategyOption = new Option<string>("--strategy") { Description = "Rollout strategy.", DefaultValueFactory = _ => "blue-green" };
strategyOption.AcceptOnlyFromAmong("immediate", "blue-green", "canary");
var attachOption = new Option<string[]>("--attach") { Description = "Attach point kind:target, e.g. xdp:eth1 (repeatable; default: the manifest's).", AllowMultipleArgumentsPerToken = false };
var stepsOption = new Option<double[]>("--steps") { Description = "Canary shares in percent, e.g. --steps 10 50 100 (default from appsettings.json).", AllowMultipleArgumentsPerToken = true };
var stepSecondsOption = new Option<double?>("--step-seconds") { Description = "Observation per canary step, or blue-green window, in seconds." };
var deploy = new Command("deploy", "Deploy a signed artifact with a rollout strategy; exit 0 promoted, 3 rolled back, 4 refused.") { artifactArgument, strategyOption, attachOption, stepsOption, stepSecondsOption };
deploy.SetAction((parse, ct) => RunAsync(parse, ct, (sp, token) => sp.GetRequiredService<LifecycleCommands>().DeployAsync(
    parse.GetValue(artifactArgument)!, parse.GetValue(strategyOption)!, parse.GetValue(attachOption) ?? [], parse.GetValue(stepsOption), parse.GetValue(stepSecondsOption), token)));
root.Subcommands.Add(deploy);

var status = new Command("status", "Show the application's deployment: versions serving, canary share, kernel ids, health.") { jsonOption };
status.SetAction((parse, ct) => RunAsync(parse, ct, (sp, _) => Task.FromResult(sp.GetRequiredService<LifecycleCommands>().Status(parse.GetValue(jsonOption)))));
root.Subcommands.Add(status);

var versions = new Command("versions", "List the application's versions: id, name, commit, deployed at, status, artifact SHA-256.") { jsonOption };
versions.SetAction((parse, ct) => RunAsync(parse, ct, (sp, _) => Task.FromResult(sp.GetRequiredService<LifecycleCommands>().Versions(parse.GetValue(jsonOption)))));
root.Subcommands.Add(versions);

var toOption = new Option<long?>("--to") { Description = "Version id to roll back to (default: the previous version)." };
var rollback = new Command("rollback", "Switch traffic back to the previous (or given) retained version.") { toOption };
rollback.SetAction((parse, ct) => RunAsync(parse, ct, (sp, token) => sp.GetRequiredService<LifecycleCommands>().RollbackAsync(parse.GetValue(toOption), token)));
root.Subcommands.Add(rollback);

var undeploy = new Command("undeploy", "Detach and unload all of the application's programs, keeping its history.");
undeploy.SetAction((parse, ct) => RunAsync(parse, ct, (sp, token) => sp.GetRequiredService<LifecycleCommands>().UndeployAsync(token)));
root.Subcommands.Add(undeploy);

var recover = new Command("recover", "Re-adopt pinned state after a crash: finish or revert an interrupted rollout and report drift.");
recover.SetAction((parse, ct) => RunAsync(parse, ct, (sp, token) => sp.GetRequiredService<LifecycleCommands>().RecoverAsync(token)));
root.Subcommands.Add(recover);

var keyArgument = new Argument<string>("key") { Description = "Configuration key (1-63 characters), as the program reads it with bpflc_config_get()." };
var valueArgument = new Argument<string>("value") { Description = "Unsigned integer value." };
var config = new Command("config", "Runtime configuration that programs read on every run, changed without reloading.");
var configGet = new Command("get", "Show a value.") { keyArgument };
configGet.SetAction((parse, ct) => RunAsync(parse, ct, (sp, _) => Task.FromResult(sp.GetRequiredService<ConfigCommands>().Get(parse.GetValue(keyArgument)!))));
var configSet = new Command("set", "Set a value in every loaded version (audited).") { keyArgument, valueArgument };
configSet.SetAction((parse, ct) => RunAsync(parse, ct, (sp, _) => Task.FromResult(sp.GetRequiredService<ConfigCommands>().Set(parse.GetValue(keyArgument)!, parse.GetValue(valueArgument)!))));
config.Subcommands.Add(configGet);
config.Subcommands.Add(configSet);
root.Subcommands.Add(config);

var followOption = new Option<bool>("--follow", "-f") { Description = "Keep reading until Ctrl+C." };
var logs = new Command("logs", "Write the BPF log records of the serving versions (to stderr, through ILogger).") { followOption };
logs.SetAction((parse, ct) => RunAsync(parse, ct, (sp, token) => sp.GetRequiredService<LogsCommand>().RunAsync(parse.GetValue(followOption), token)));
root.Subcommands.Add(logs);

var audit = new Command("audit", "Audit log commands.");
var auditVerify = new Command("verify", "Verify the application's hash-chained audit log; exit 1 when it was tampered with.");
auditVerify.SetAction((parse, ct) => RunAsync(parse, ct, (sp, _) => Task.FromResult(sp.GetRequiredService<LifecycleCommands>().AuditVerify())));
audit.Subcommands.Add(auditVerify);
root.Subcommands.Add(audit);

var metricsOption = new Option<string>("--metrics") { Description = "Prometheus scrape endpoint address:port (loopback by default).", DefaultValueFactory = _ => "127.0.0.1:9464" };
var run = new Command("run", "The long-running agent: re-adopts pinned state, watches the application's versions, forwards BPF log records, raises alerts and serves Prometheus metrics.") { metricsOption };
run.SetAction((parse, ct) => RunAgentAsync(parse, parse.GetValue(metricsOption)!, ct));
root.Subcommands.Add(run);

var keepOption = new Option<bool>("--keep") { Description = "Leave the demo running until Ctrl+C." };
var artifactsOption = new Option<string?>("--artifacts") { Description = "Directory holding the v1, v2 and v3 artifacts (default: the ones shipped with the app)." };
var demoMetricsOption = new Option<string>("--metrics") { Description = "Prometheus scrape endpoint of the demo's agent, address:port.", DefaultValueFactory = _ => "127.0.0.1:9464" };
var demo = new Command("demo", "Deploy v1, canary v2 to promotion and see faulty v3 rolled back, on a private veth pair with real traffic; then clean up.") { keepOption, artifactsOption, demoMetricsOption };
demo.SetAction((parse, ct) => RunAsync(parse, ct, (sp, token) => sp.GetRequiredService<DemoCommand>().RunAsync(parse.GetValue(keepOption), parse.GetValue(artifactsOption), token),
    builder =>
    {
        var endpoint = MetricsEndpoint(parse.GetValue(demoMetricsOption)!);
        builder.Services.AddSingleton(new ApplicationHosts(application => BuildHost(parse, b => AddAgent(b, endpoint, hosted: false), application)));
    }));
root.Subcommands.Add(demo);

// Ctrl+C, SIGTERM (systemd stop) and SIGHUP all cancel the running command so it can undo what it made.
using var shutdown = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Cancel);
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // Exit code 2 for every command-line error, as documented (System.CommandLine would use 1).
    foreach (var error in parsed.Errors)
    {
        await Console.Error.WriteLineAsync($"error: {error.Message}");
    }

    await Console.Error.WriteLineAsync("Run 'bpflc --help' for usage.");
    return ExitCodes.Usage;
}

return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, shutdown.Token);

void Cancel(PosixSignalContext context)
{
    context.Cancel = true;
    shutdown.Cancel();
}

async Task<int> RunAsync(ParseResult parse, CancellationToken ct, Func<IServiceProvider, CancellationToken, Task<int>> body, Action<HostApplicationBuilder>? configure = null)
{
    try
    {
        using var host = BuildHost(parse, configure);
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
    catch (OptionsValidationException e)
    {
        await WriteConfigurationErrorAsync(e);
        return ExitCodes.Usage;
    }
    catch (Exception e) when (e is DeploymentRefusedException or ArtifactValidationException)
    {
        await Console.Error.WriteLineAsync($"refused: {e.Message}");
        return ExitCodes.Refused;
    }
    catch (Exception e) when (e is BpfLifecycle.Interop.BpfException or InvalidOperationException or IOException or UnauthorizedAccessException or TrustStoreException or TimeoutException)
    {
        await Console.Error.WriteLineAsync($"error: {e.Message}");
        return ExitCodes.Error;
    }
}

async Task<int> RunAgentAsync(ParseResult parse, string metrics, CancellationToken ct)
{
    var endpoint = MetricsEndpoint(metrics);
    var prefix = $"http://{endpoint.Host}:{endpoint.Port}/";
    try
    {
        using var host = BuildHost(parse, builder => AddAgent(builder, endpoint, hosted: true));
        var paths = host.Services.GetRequiredService<HostPaths>();

        // One agent per application: a second would split the log records and double the alerts.
        using var agentLock = ProcessLock.TryTake(paths.AgentLockPath);
        if (agentLock is null)
        {
            _ = ProcessLock.IsHeld(paths.AgentLockPath, out var holder);
            await Console.Error.WriteLineAsync($"error: an agent already runs for application '{paths.Application}' (pid {holder?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}, lock {paths.AgentLockPath}).");
            return ExitCodes.Busy;
        }

        await Console.Out.WriteLineAsync($"agent for application '{paths.Application}': metrics at {prefix}metrics");
        await host.RunAsync(ct);
        return ExitCodes.Success;
    }
    catch (OperationCanceledException) when (ct.IsCancellationRequested)
    {
        return ExitCodes.Success;
    }
    catch (ArgumentException e)
    {
        await Console.Error.WriteLineAsync($"error: {e.Message}");
        return ExitCodes.Usage;
    }
    catch (OptionsValidationException e)
    {
        await WriteConfigurationErrorAsync(e);
        return ExitCodes.Usage;
    }
}

// One problem on one line; several as a list, each naming its key.
static Task WriteConfigurationErrorAsync(OptionsValidationException e) => Console.Error.WriteLineAsync(e.Failures.Count() == 1
    ? $"error: invalid configuration: {e.Failures.Single()}"
    : $"error: invalid configuration:{string.Concat(e.Failures.Select(f => $"{Environment.NewLine}  {f}"))}");

static void AddAgent(HostApplicationBuilder builder, (string Host, int Port) endpoint, bool hosted)
{
    builder.Services.AddSingleton(new MetricsEndpoint(endpoint.Host, endpoint.Port));
    if (hosted)
    {
        builder.Services.AddHostedService<AgentService>();
    }

    builder.Services.AddOpenTelemetry().WithMetrics(m => m
        .AddMeter(BpfLifecycleMetrics.MeterName)
        .AddPrometheusHttpListener(o =>
        {
            o.Host = endpoint.Host;
            o.Port = endpoint.Port;
        }));
}

static (string Host, int Port) MetricsEndpoint(string address)
{
    var colon = address.LastIndexOf(':');
    if (colon <= 0 || !ushort.TryParse(address[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var port) || port == 0)
    {
        throw new ArgumentException($"--metrics '{address}' is not address:port (e.g. 127.0.0.1:9464).");
    }

    return (address[..colon], port);
}

IHost BuildHost(ParseResult parse, Action<HostApplicationBuilder>? configure = null, string? application = null)
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
    {
        ContentRootPath = AppContext.BaseDirectory,
        Args = [],
    });
    builder.Configuration.AddEnvironmentVariables("BPFLC_");
    // Keys of the former top-level Rollout and Observability sections would be ignored: refuse them, naming the new key.
    RetiredConfiguration.ThrowIfAny(builder.Configuration);
    // Command output goes to stdout; logs go to stderr so `--json` output stays machine-readable.
    builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    builder.Services.AddSystemd();

    // The global options win over appsettings.json and the environment: an in-memory source added last. The
    // audit log lives in the application's state directory, so `audit verify` finds it from the same options.
    var settings = builder.Configuration.GetSection(BpfLifecycleOptions.SectionName).Get<HostSettings>() ?? new HostSettings();
    var paths = HostPaths.Resolve(settings, application ?? parse.GetValue(appOption), parse.GetValue(stateDirOption), parse.GetValue(pinRootOption));
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        [$"{BpfLifecycleOptions.SectionName}:Application"] = paths.Application,
        [$"{BpfLifecycleOptions.SectionName}:StateDirectory"] = paths.StateRoot,
        [$"{BpfLifecycleOptions.SectionName}:PinRoot"] = paths.PinRoot,
        [$"{BpfLifecycleOptions.SectionName}:Security:Audit:Path"] = paths.AuditLogPath,
    });

    // The agent (run, demo) applies the CPU guard rail per version itself, so the SDK's maintenance loop stays out.
    builder.Services.AddBpfLifecycle(builder.Configuration).WithoutMaintenanceService();
    builder.Services.AddOptions<RolloutSettings>().Bind(builder.Configuration.GetSection(RolloutSettings.SectionName)).ValidateOnStart();
    builder.Services.AddSingleton<IValidateOptions<RolloutSettings>, RolloutSettingsValidator>();
    ComposeHostPolicy(builder);

    builder.Services.AddSingleton(paths);
    builder.Services.AddSingleton<TextWriter>(Console.Out);
    builder.Services.Configure<DemoOptions>(builder.Configuration.GetSection("Demo"));
    builder.Services.AddSingleton<ApplicationLifecycle>();
    builder.Services.AddSingleton<RolloutDefaults>();
    builder.Services.AddTransient<LifecycleCommands>();
    builder.Services.AddTransient<ConfigCommands>();
    builder.Services.AddTransient<LogsCommand>();
    builder.Services.AddTransient<DemoCommand>();
    configure?.Invoke(builder);
    var host = builder.Build();
    try
    {
        ValidateAtStart(host.Services);
    }
    catch
    {
        host.Dispose();
        throw;
    }

    return host;
}

// Every command validates all options before it touches anything (the agent's start would, the others never start
// the host): a bad value exits 2 with every problem named, not at the first use of the option.
static void ValidateAtStart(IServiceProvider services)
{
    try
    {
        services.GetService<IStartupValidator>()?.Validate();
    }
    catch (AggregateException e) when (e.InnerExceptions.All(i => i is OptionsValidationException))
    {
        var failures = e.InnerExceptions.Cast<OptionsValidationException>().SelectMany(v => v.Failures).Distinct().ToList();
        throw new OptionsValidationException(BpfLifecycleOptions.SectionName, typeof(BpfLifecycleOptions), failures);
    }
}

// What the host decides on top of AddBpfLifecycle: where relative key paths point, how many versions stay loaded,
// the evidence a rollout decision needs, that every gate decision is audited, and that the agent (not the SDK's
// maintenance loop) runs the CPU guard rail per version.
static void ComposeHostPolicy(HostApplicationBuilder builder)
{
    var services = builder.Services;
    services.AddOptions<BpfLifecycleOptions>().PostConfigure<IHostEnvironment>((o, environment) =>
    {
        foreach (var key in o.Security.TrustedKeys)
        {
            if (key.Path is { Length: > 0 } path && !Path.IsPathRooted(path))
            {
                key.Path = Path.Combine(environment.ContentRootPath, path);
            }
        }
    });
    // One set of health thresholds (BpfLifecycle:Alerts:Thresholds): AddBpfLifecycle has the agent's monitor alert by
    // them and the deployment manager judge rollouts by them with BpfLifecycle:Rollout:MinimumRuns as the evidence.
    foreach (var gate in services.Where(d => d.ServiceType == typeof(IDeploymentGate)).ToList())
    {
        services.Remove(gate);
        services.AddSingleton<IDeploymentGate>(sp => new AuditedGate(
            (IDeploymentGate)(gate.ImplementationInstance ?? gate.ImplementationFactory?.Invoke(sp) ?? ActivatorUtilities.CreateInstance(sp, gate.ImplementationType!)),
            sp.GetRequiredService<IAuditLog>()));
    }

}
