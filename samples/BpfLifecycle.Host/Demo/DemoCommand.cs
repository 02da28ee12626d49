// The `demo` command: the whole lifecycle on a private network. It deploys v1 of the signed sample artifact, rolls
// out v2 (a new program: it also counts packets per IP protocol) by canary with automatic promotion, tries the faulty
// v3 that health rules roll back on their own, prints the final status, and removes everything it made (unless
// --keep, which keeps it running until Ctrl+C).
using System.Globalization;
using BpfLifecycle.Deployment;
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Host.Agent;
using BpfLifecycle.Host.Commands;
using Microsoft.Extensions.DependencyInjection;
using BpfLifecycle.Host.Lifecycle;
using BpfLifecycle.Host.Rendering;
using BpfLifecycle.Maps;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Host.Demo;

internal sealed class DemoCommand(
    ApplicationHosts hosts, RolloutDefaults rollouts, HostPaths paths, IHostEnvironment environment, IOptions<DemoOptions> options,
    TimeProvider time, ILogger<DemoCommand> logger, TextWriter output)
{
    /// <summary>Canary steps of the demo: short, so the whole story fits in well under two minutes.</summary>
    private static readonly double[] CanarySteps = [10, 50, 100];
    private const double StepSeconds = 3;

    public async Task<int> RunAsync(bool keep, string? artifactsDirectory, CancellationToken ct)
    {
        keep |= options.Value.KeepRunning;
        var started = time.GetTimestamp();
        var artifacts = artifactsDirectory ?? Path.Combine(environment.ContentRootPath, "artifacts");
        foreach (var leftover in DemoNetwork.RemoveLeftovers())
        {
            logger.LogInformation("Removed {Leftover} left by an interrupted demo", leftover);
        }

        using var network = DemoNetwork.Create();
        var demoPaths = paths.WithApplication($"demo-{network.Suffix}");
        var hook = AttachPoint.Parse($"xdp:{network.HostInterface}");
        Title("1. A private network");
        Say($"namespace {network.Namespace}, veth {network.HostInterface} (programs attach here) <-> {network.PeerInterface}");
        Say($"application '{demoPaths.Application}': state {demoPaths.StateDirectory}, pins {demoPaths.PinDirectory}");

        // The demo's application gets its own container, composed exactly like every other command's.
        using var demoHost = hosts.Create(demoPaths.Application);
        var app = demoHost.Services.GetRequiredService<ApplicationLifecycle>();
        var agent = await StartAgentAsync(demoHost.Services, ct);
        try
        {
            await using var traffic = new TrafficGenerator(network.OpenSender(9999), options.Value.PacketsPerSecond, time);
            Say($"sending {options.Value.PacketsPerSecond} UDP datagrams/s from {network.PeerAddress} through the veth pair");

            Title("2. Deploy v1 (immediate)");
            var v1 = await DeployAsync(app, Path.Combine(artifacts, "v1"), "immediate", hook, ct);

            Title($"3. Roll out v2 (adds per-IP-protocol counts) by canary ({string.Join("% -> ", CanarySteps)}%, {StepSeconds:0}s per step), promoted automatically when healthy");
            var v2 = await DeployAsync(app, Path.Combine(artifacts, "v2"), "canary", hook, ct);
            ShowProtocolCounts(demoPaths, v2);

            Title("4. Try v3, built faulty (every 4th packet aborts): its canary must be rolled back automatically");
            var v3 = await DeployAsync(app, Path.Combine(artifacts, "v3"), "canary", hook, ct);

            Title("5. Final state");
            LifecycleCommands.PrintStatus(app.Manager.GetStatus(), output);
            output.WriteLine();
            LifecycleCommands.PrintVersions(app.Manager.GetVersions().Select(VersionDocument.From), output);
            Say($"traffic: {traffic.Sent} datagrams sent; audit log {demoPaths.AuditLogPath}");
            Say(agent.Metrics is { } m ? $"metrics: {m} (Prometheus; the demo's agent serves them while it runs)" : "metrics: not served (see the warning above)");

            var asExpected = v1.Result == DeploymentResult.Promoted && v2.Result == DeploymentResult.Promoted && v3.Result == DeploymentResult.RolledBack
                && app.Manager.GetStatus().ActiveVersionId == v2.Version?.Id;
            Say(asExpected
                ? "result: v1 deployed, v2 promoted by canary, faulty v3 rolled back by itself; v2 serves."
                : $"result: UNEXPECTED (v1 {v1.Result}, v2 {v2.Result}, v3 {v3.Result})");

            if (keep)
            {
                Title("Kept running (--keep): inspect from another terminal, Ctrl+C to clean up");
                Say($"bpflc --app {demoPaths.Application} status | versions | rollback | config get log_sample_percent");
                await Task.Delay(Timeout.InfiniteTimeSpan, time, ct);
            }

            Say($"done in {time.GetElapsedTime(started).TotalSeconds:F1}s");
            return asExpected ? ExitCodes.Success : ExitCodes.Error;
        }
        finally
        {
            // Runs on Ctrl+C too: nothing the demo made may outlive it.
            await agent.StopAsync();
            await CleanUpAsync(app, demoHost, demoPaths, network);
        }
    }

    /// <summary>
    /// Starts what `bpflc run` runs, for the demo's application: the monitoring loop, the Prometheus endpoint and the
    /// agent that follows the versions. A busy metrics port only costs the metrics, not the demo.
    /// </summary>
    private async Task<DemoAgent> StartAgentAsync(IServiceProvider services, CancellationToken ct)
    {
        var hosted = services.GetServices<IHostedService>().ToList();
        var agent = ActivatorUtilities.CreateInstance<AgentService>(services);
        var endpoint = services.GetService<MetricsEndpoint>();
        try
        {
            foreach (var h in hosted)
            {
                await h.StartAsync(ct);
            }
        }
        catch (Exception e) when (e is System.Net.HttpListenerException or InvalidOperationException)
        {
            logger.LogWarning("Metrics endpoint {Endpoint} could not start: {Message}", endpoint, e.Message);
            endpoint = null;
        }

        await agent.StartAsync(ct);
        return new DemoAgent(agent, hosted, endpoint);
    }

    private sealed record DemoAgent(AgentService Agent, IReadOnlyList<IHostedService> Hosted, MetricsEndpoint? Metrics)
    {
        public async Task StopAsync()
        {
            await Agent.StopAsync(CancellationToken.None);
            Agent.Dispose();
            foreach (var h in Hosted.Reverse())
            {
                try
                {
                    await h.StopAsync(CancellationToken.None);
                }
                catch (InvalidOperationException)
                {
                }
            }
        }
    }

    private async Task<DeploymentOutcome> DeployAsync(ApplicationLifecycle app, string directory, string strategy, AttachPoint hook, CancellationToken ct)
    {
        var artifact = app.LoadArtifact(directory);
        Say($"artifact {artifact.Manifest.Name} {artifact.Manifest.Version} (sha256 {artifact.Sha256[..12]}, signature verified)");
        var view = RolloutProgressView.ForConsole();
        var outcome = await app.DeployAsync(artifact, new DeploymentRequest
        {
            Strategy = rollouts.Strategy(strategy, CanarySteps, StepSeconds),
            AttachPoints = [hook],
        }, view, ct);
        view.Complete();
        Say($"=> {outcome.Result.ToString().ToUpperInvariant()}: {outcome.Reason}");
        return outcome;
    }

    /// <summary>
    /// Shows what v2 adds to v1: its per-IP-protocol counts (state map <c>protocols</c>, which only v2 and later
    /// have), next to the <c>packets</c> count it took over from v1. Silent for a version without that map.
    /// </summary>
    private void ShowProtocolCounts(HostPaths demoPaths, DeploymentOutcome outcome)
    {
        if (outcome.Result != DeploymentResult.Promoted || outcome.Version is not { } version)
        {
            return;
        }

        var maps = Path.Combine(demoPaths.PinDirectory, "versions", version.Id.ToString(CultureInfo.InvariantCulture), "maps");
        if (!File.Exists(Path.Combine(maps, "protocols")) || !File.Exists(Path.Combine(maps, "packets")))
        {
            return;
        }

        using var protocols = BpfArrayMap<ulong>.OpenPinned(Path.Combine(maps, "protocols"), BpfMapAccess.ReadOnly);
        using var packets = BpfArrayMap<ulong>.OpenPinned(Path.Combine(maps, "packets"), BpfMapAccess.ReadOnly);
        var counts = Enumerable.Range(0, protocols.Length)
            .Select(p => (Protocol: p, Count: protocols[p]))
            .Where(c => c.Count > 0)
            .Select(c => $"{ProtocolName(c.Protocol)} {c.Count}");
        Say($"v2's new counter 'protocols' (packets by IP protocol since v2's canary began): {string.Join(", ", counts.DefaultIfEmpty("none yet"))}; "
            + $"'packets' (all versions, carried over from v1): {packets[0]}");
    }

    // IANA keywords; 0 is the IPv6 hop-by-hop header that multicast listener reports on a fresh link carry.
    private static string ProtocolName(int protocol) => protocol switch
    {
        0 => "hopopt",
        1 => "icmp",
        6 => "tcp",
        17 => "udp",
        58 => "icmpv6",
        _ => $"protocol {protocol}",
    };

    private async Task CleanUpAsync(ApplicationLifecycle app, IHost demoHost, HostPaths demoPaths, DemoNetwork network)
    {
        try
        {
            await app.UndeployAsync(null, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Undeploying the demo application failed");
        }

        // Closes the demo application's manager and audit log before their directories go.
        demoHost.Dispose();
        foreach (var dir in new[] { demoPaths.PinDirectory, demoPaths.StateDirectory })
        {
            try
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                logger.LogWarning("Could not remove {Directory}: {Message}", dir, e.Message);
            }
        }

        Say($"cleaned up: application {demoPaths.Application} undeployed, {network.Namespace} and its veth pair removed");
    }

    private void Title(string text)
    {
        output.WriteLine();
        output.WriteLine(Console.IsOutputRedirected ? $"== {text}" : $"\u001b[1m== {text}\u001b[0m");
    }

    private void Say(string line) => output.WriteLine(line);
}
