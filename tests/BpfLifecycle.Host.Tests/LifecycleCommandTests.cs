// The host's lifecycle commands end to end: each test drives `bpflc` in child processes against the real kernel,
// on a veth pair with UDP traffic, with its own application name, state directory and pin root.
using System.Text.Json;
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Host.Tests;

public sealed class LifecycleCommandTests : KernelTestBase
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private readonly NetworkNamespacePair _net;
    private readonly string _app = "t" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _stateRoot = Path.Combine(Path.GetTempPath(), "bpflc-host-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly string _pinRoot;

    public LifecycleCommandTests()
    {
        KernelTest.RequireTool("ip");
        _pinRoot = NewPinDirectory();
        Directory.CreateDirectory(_stateRoot);
        Defer(() => Directory.Delete(_stateRoot, recursive: true));
        _net = Track(new NetworkNamespacePair());
        // Whatever a test left attached is detached before the veth and pins go away.
        Defer(() => Bpflc("undeploy").GetAwaiter().GetResult().Dispose());
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Hook => $"xdp:{_net.HostInterface}";

    private static string Sample(string version) => Path.Combine(HostProcess.RepositoryRoot, "samples", "artifacts", version);

    [Fact]
    public async Task Deploy_immediate_then_status_and_versions_json_describe_the_kernel_state()
    {
        using var deploy = await Bpflc("deploy", Sample("v1"), "--strategy", "immediate", "--attach", Hook);
        Assert.True(deploy.ExitCode == 0, deploy.ToString());
        // Output is not a terminal here: plain lines, no live view escape sequences.
        Assert.DoesNotContain('\u001b', deploy.StandardOutput);
        Assert.Contains("PROMOTED", deploy.StandardOutput, StringComparison.Ordinal);
        await _net.SendUdpAsync(50, 9000, cancellationToken: Ct);

        var status = await Json("status", "--json");
        var d = Assert.Single(status.EnumerateArray().ToList());
        Assert.Equal(_app, d.GetProperty("application").GetString());
        Assert.Equal("lifecycle_xdp", d.GetProperty("program").GetString());
        Assert.Equal(1, d.GetProperty("activeVersionId").GetInt64());
        Assert.Equal(JsonValueKind.Null, d.GetProperty("candidateVersionId").ValueKind);
        Assert.Equal(0, d.GetProperty("canarySharePercent").GetDouble());
        var programId = d.GetProperty("programIds").GetProperty("active").GetUInt32();
        Assert.True(programId > 0);
        var linkId = Assert.Single(d.GetProperty("linkIds").EnumerateObject().ToList()).Value.GetUInt32();
        using (var link = BpfLifecycle.Interop.BpfLink.FromId(linkId))
        {
            Assert.Equal(programId, link.ProgramId);
        }

        var versions = await Json("versions", "--json");
        var v = Assert.Single(versions.EnumerateArray().ToList());
        Assert.Equal(1, v.GetProperty("id").GetInt64());
        Assert.Equal("lifecycle-xdp", v.GetProperty("name").GetString());
        Assert.Equal("1.0.0", v.GetProperty("version").GetString());
        Assert.Equal("Active", v.GetProperty("status").GetString());
        Assert.Equal(Artifact.Load(Sample("v1")).Sha256, v.GetProperty("artifactSha256").GetString());
        Assert.True(v.TryGetProperty("commit", out _) && v.TryGetProperty("deployedAt", out _));
    }

    [Fact]
    public async Task Faulty_canary_is_rolled_back_with_exit_code_3_and_the_previous_version_serves()
    {
        using (var v1 = await Bpflc("deploy", Sample("v1"), "--strategy", "immediate", "--attach", Hook))
        {
            Assert.True(v1.ExitCode == 0, v1.ToString());
        }

        using var traffic = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var sender = SendUntilCancelledAsync(traffic.Token);
        using var v3 = await Bpflc("deploy", Sample("v3"), "--strategy", "canary", "--steps", "50", "100", "--step-seconds", "1.5");
        await traffic.CancelAsync();
        await sender;

        Assert.True(v3.ExitCode == 3, v3.ToString());
        Assert.Contains("error rate", v3.StandardOutput, StringComparison.Ordinal);
        var d = Assert.Single((await Json("status", "--json")).EnumerateArray().ToList());
        Assert.Equal(1, d.GetProperty("activeVersionId").GetInt64());
        Assert.Equal(JsonValueKind.Null, d.GetProperty("candidateVersionId").ValueKind);
        var failed = (await Json("versions", "--json")).EnumerateArray().Single(v => v.GetProperty("id").GetInt64() == 2);
        Assert.Equal("Failed", failed.GetProperty("status").GetString());
        Assert.Contains("error rate", failed.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 3)]  // the shipped threshold, 1%: v3's 25% errors roll it back
    [InlineData("0.5", 0)] // tolerated: the same rollout is promoted
    public async Task The_error_rate_threshold_under_BpfLifecycle_Alerts_Thresholds_decides_the_rollout(string? errorRate, int exitCode)
    {
        (await Bpflc("deploy", Sample("v1"), "--strategy", "immediate", "--attach", Hook)).Dispose();
        var environment = new Dictionary<string, string>();
        if (errorRate is not null)
        {
            environment["BPFLC_BpfLifecycle__Alerts__Thresholds__ErrorRate"] = errorRate;
        }

        // Blue-green: v3 alone takes the traffic, so no baseline comparison, only the error-rate threshold decides.
        using var traffic = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var sender = SendUntilCancelledAsync(traffic.Token);
        using var v3 = HostProcess.Start(environment, Args("deploy", Sample("v3"), "--strategy", "blue-green", "--step-seconds", "1.5"));
        await v3.WaitForExitAsync(Timeout);
        await traffic.CancelAsync();
        await sender;

        Assert.True(v3.ExitCode == exitCode, v3.ToString());
        var d = Assert.Single((await Json("status", "--json")).EnumerateArray().ToList());
        Assert.Equal(exitCode == 0 ? 2 : 1, d.GetProperty("activeVersionId").GetInt64());
        var health = d.GetProperty("health");
        Assert.True(health.GetProperty("errorRate").GetDouble() > 0.1, d.ToString()); // the fault was observed either way
        var failures = health.GetProperty("failures").EnumerateArray().Select(f => f.GetString()!).ToList();
        if (exitCode == 0)
        {
            Assert.DoesNotContain(failures, f => f.StartsWith("error rate", StringComparison.Ordinal));
        }
        else
        {
            Assert.Contains(failures, f => f.StartsWith("error rate", StringComparison.Ordinal) && f.EndsWith("> 1%", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task The_evidence_a_rollout_needs_comes_from_BpfLifecycle_Rollout_MinimumRuns()
    {
        (await Bpflc("deploy", Sample("v1"), "--strategy", "immediate", "--attach", Hook)).Dispose();
        using var traffic = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var sender = SendUntilCancelledAsync(traffic.Token);
        using var v2 = HostProcess.Start(new Dictionary<string, string> { ["BPFLC_BpfLifecycle__Rollout__MinimumRuns"] = "1000000" },
            Args("deploy", Sample("v2"), "--strategy", "blue-green", "--step-seconds", "1.5"));
        await v2.WaitForExitAsync(Timeout);
        await traffic.CancelAsync();
        await sender;

        // No harm seen and too few runs for a verdict: promoted (RequireEvidence is off), and the report says why.
        Assert.True(v2.ExitCode == 0, v2.ToString());
        var health = Assert.Single((await Json("status", "--json")).EnumerateArray().ToList()).GetProperty("health");
        Assert.Equal("InsufficientEvidence", health.GetProperty("verdict").GetString());
        Assert.True(health.GetProperty("runs").GetInt64() > 0, health.ToString());
        Assert.Contains(health.GetProperty("failures").EnumerateArray(), f => f.GetString()!.Contains("at least 1000000 needed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Rollback_returns_to_the_previous_version_and_an_unknown_target_is_refused()
    {
        (await Bpflc("deploy", Sample("v1"), "--strategy", "immediate", "--attach", Hook)).Dispose();
        using (var v2 = await Bpflc("deploy", Sample("v2"), "--strategy", "immediate"))
        {
            Assert.True(v2.ExitCode == 0, v2.ToString());
        }

        Assert.Equal(2, Active(await Json("status", "--json")));
        using (var back = await Bpflc("rollback"))
        {
            Assert.True(back.ExitCode == 0, back.ToString());
        }

        Assert.Equal(1, Active(await Json("status", "--json")));
        using var bad = await Bpflc("rollback", "--to", "99");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("99", bad.StandardOutput + bad.StandardError, StringComparison.Ordinal);
        Assert.Equal(1, Active(await Json("status", "--json")));
    }

    [Fact]
    public async Task Undeploy_detaches_everything_and_keeps_the_history()
    {
        (await Bpflc("deploy", Sample("v1"), "--strategy", "immediate", "--attach", Hook)).Dispose();
        var linkId = Assert.Single(Assert.Single((await Json("status", "--json")).EnumerateArray().ToList()).GetProperty("linkIds").EnumerateObject().ToList()).Value.GetUInt32();

        using (var undeploy = await Bpflc("undeploy"))
        {
            Assert.True(undeploy.ExitCode == 0, undeploy.ToString());
        }

        Assert.Empty((await Json("status", "--json")).EnumerateArray());
        Assert.Single((await Json("versions", "--json")).EnumerateArray());
        Assert.Throws<BpfLifecycle.Interop.BpfException>(() => BpfLifecycle.Interop.BpfLink.FromId(linkId).Dispose());
    }

    [Fact]
    public async Task Tampered_artifact_is_refused_with_exit_code_4_and_nothing_is_registered()
    {
        var copy = Path.Combine(_stateRoot, "tampered");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(Sample("v1")))
        {
            File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        }

        var manifest = Path.Combine(copy, "manifest.json");
        await File.WriteAllTextAsync(manifest, (await File.ReadAllTextAsync(manifest, Ct)).Replace("1.0.0", "1.0.1", StringComparison.Ordinal), Ct);

        using var deploy = await Bpflc("deploy", copy, "--strategy", "immediate", "--attach", Hook);

        Assert.True(deploy.ExitCode == 4, deploy.ToString());
        Assert.Contains("signature", deploy.StandardError, StringComparison.OrdinalIgnoreCase);
        Assert.Empty((await Json("versions", "--json")).EnumerateArray());
    }

    [Fact]
    public async Task Audit_log_verifies_after_deployments_and_a_tampered_log_fails_with_exit_code_1()
    {
        (await Bpflc("deploy", Sample("v1"), "--strategy", "immediate", "--attach", Hook)).Dispose();
        using (var ok = await Bpflc("audit", "verify"))
        {
            Assert.True(ok.ExitCode == 0, ok.ToString());
            Assert.Contains("valid", ok.StandardOutput, StringComparison.Ordinal);
        }

        var log = Path.Combine(_stateRoot, _app, "audit.log");
        var lines = await File.ReadAllLinesAsync(log, Ct);
        lines[0] = lines[0].Replace("\"signature", "\"signaturX", StringComparison.Ordinal);
        await File.WriteAllLinesAsync(log, lines, Ct);
        using var bad = await Bpflc("audit", "verify");
        Assert.True(bad.ExitCode == 1, bad.ToString());
        Assert.Contains("TAMPERED", bad.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Crash_in_the_middle_of_a_canary_is_reverted_by_recover_and_the_previous_version_serves()
    {
        (await Bpflc("deploy", Sample("v1"), "--strategy", "immediate", "--attach", Hook)).Dispose();
        using (var rollout = HostProcess.Start(Args("deploy", Sample("v2"), "--strategy", "canary", "--steps", "10", "100", "--step-seconds", "60")))
        {
            await rollout.WaitForOutputAsync("canary share 10%", Timeout);
            var during = Assert.Single((await Json("status", "--json")).EnumerateArray().ToList());
            Assert.Equal(2, during.GetProperty("candidateVersionId").GetInt64());
            Assert.Equal(10, during.GetProperty("canarySharePercent").GetDouble());
            rollout.Signal(9); // SIGKILL: no cleanup of any kind
            await rollout.WaitForExitAsync(TimeSpan.FromSeconds(20));
        }

        var pending = Assert.Single((await Json("status", "--json")).EnumerateArray().ToList());
        Assert.NotEqual(JsonValueKind.Null, pending.GetProperty("pendingPhase").ValueKind);

        using (var recover = await Bpflc("recover"))
        {
            Assert.True(recover.ExitCode == 0, recover.ToString());
            Assert.Contains("reverted", recover.StandardOutput, StringComparison.Ordinal);
        }

        var after = Assert.Single((await Json("status", "--json")).EnumerateArray().ToList());
        Assert.Equal(1, after.GetProperty("activeVersionId").GetInt64());
        Assert.Equal(JsonValueKind.Null, after.GetProperty("candidateVersionId").ValueKind);
        Assert.Equal(JsonValueKind.Null, after.GetProperty("pendingPhase").ValueKind);

        // The application still deploys normally afterwards.
        using var again = await Bpflc("deploy", Sample("v2"), "--strategy", "immediate");
        Assert.True(again.ExitCode == 0, again.ToString());
    }

    [Fact]
    public async Task Agent_readopts_the_deployment_serves_prometheus_metrics_and_stops_on_sigterm()
    {
        (await Bpflc("deploy", Sample("v1"), "--strategy", "immediate", "--attach", Hook)).Dispose();
        var port = Random.Shared.Next(20_000, 30_000);
        using var agent = HostProcess.Start(Args("run", "--metrics", $"127.0.0.1:{port}"));
        await agent.WaitForOutputAsync("metrics at", Timeout);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var text = "";
        for (var attempt = 0; attempt < 40 && !text.Contains("bpflifecycle_program_runs", StringComparison.Ordinal); attempt++)
        {
            await _net.SendUdpAsync(100, 9000, cancellationToken: Ct);
            await Task.Delay(500, Ct);
            try
            {
                text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics", Ct);
            }
            catch (HttpRequestException)
            {
            }
        }

        Assert.Contains($"bpflifecycle_application=\"{_app}\"", text, StringComparison.Ordinal);
        Assert.Contains("bpflifecycle_version=\"1\"", text, StringComparison.Ordinal);
        Assert.Contains("bpflifecycle_program_runs", text, StringComparison.Ordinal);
        Assert.Contains("pinned state re-adopted", agent.StandardError, StringComparison.Ordinal);

        // The agent consumes the log records: `logs` refuses instead of splitting them, and a second agent refuses.
        using (var logs = await Bpflc("logs"))
        {
            Assert.True(logs.ExitCode == 6, logs.ToString());
            Assert.Contains($"the agent of application '{_app}' (bpflc run, pid {agent.Id})", logs.StandardError, StringComparison.Ordinal);
        }

        using (var second = await Bpflc("run", "--metrics", $"127.0.0.1:{port + 1}"))
        {
            Assert.True(second.ExitCode == 6, second.ToString());
            Assert.Contains($"an agent already runs for application '{_app}' (pid {agent.Id}", second.StandardError, StringComparison.Ordinal);
        }

        agent.Signal(15);
        await agent.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(agent.ExitCode == 0, agent.ToString());
        // Stopping the agent never detaches: the version keeps serving, and its log records can be read again.
        Assert.Equal(1, Active(await Json("status", "--json")));
        using var after = await Bpflc("logs");
        Assert.True(after.ExitCode == 0, after.ToString());
    }

    [Fact]
    public async Task On_a_terminal_a_rollout_redraws_a_live_status_line_and_redirected_output_has_no_escapes()
    {
        using (var v1 = await Bpflc("deploy", Sample("v1"), "--strategy", "immediate", "--attach", Hook))
        {
            Assert.True(v1.ExitCode == 0, v1.ToString());
            Assert.Contains("PROMOTED", v1.StandardOutput, StringComparison.Ordinal);
            Assert.DoesNotContain("\u001b[", v1.StandardOutput, StringComparison.Ordinal);
        }

        using var v2 = HostProcess.StartOnTerminal(Args("deploy", Sample("v2"), "--strategy", "canary", "--steps", "50", "100", "--step-seconds", "0.5"));
        await v2.WaitForExitAsync(Timeout);
        Assert.True(v2.ExitCode == 0, v2.ToString());
        var screen = v2.StandardOutput;

        // Each event clears the live line, prints its own line, and redraws the status line (dim) after it.
        Assert.Contains("\u001b[2K", screen, StringComparison.Ordinal);
        Assert.Contains("\u001b[2m  [rollout] checking gates", screen, StringComparison.Ordinal);
        Assert.DoesNotContain("v0]", screen, StringComparison.Ordinal);
        Assert.Contains("\u001b[2m  [canary v2] share 50%", screen, StringComparison.Ordinal);
        Assert.Contains("\u001b[2m  [canary v2] share 100%", screen, StringComparison.Ordinal);
        Assert.Contains("PROMOTED", screen, StringComparison.Ordinal);

        // The live line is cleared when the rollout ends, so what follows starts on a clean line.
        var promoted = screen.LastIndexOf("PROMOTED", StringComparison.Ordinal);
        Assert.Contains("\u001b[2K", screen[promoted..], StringComparison.Ordinal);
        Assert.Equal(2, Active(await Json("status", "--json")));
    }

    [Fact]
    public async Task Config_set_reaches_every_loaded_version_and_get_reads_it_back()
    {
        (await Bpflc("deploy", Sample("v1"), "--strategy", "immediate", "--attach", Hook)).Dispose();
        (await Bpflc("deploy", Sample("v2"), "--strategy", "immediate")).Dispose();
        using (var unset = await Bpflc("config", "get", "log_sample_percent"))
        {
            Assert.True(unset.ExitCode == 5, unset.ToString());
        }

        using (var set = await Bpflc("config", "set", "log_sample_percent", "25"))
        {
            Assert.True(set.ExitCode == 0, set.ToString());
            Assert.Contains("versions 2, 1", set.StandardOutput, StringComparison.Ordinal);
        }

        using var get = await Bpflc("config", "get", "log_sample_percent");
        Assert.Contains("log_sample_percent = 25", get.StandardOutput, StringComparison.Ordinal);
        using var bad = await Bpflc("config", "set", "log_sample_percent", "-3");
        Assert.True(bad.ExitCode == 2, bad.ToString());
        Assert.Contains("'-3' is not an unsigned integer", bad.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Budget_gate_configured_through_the_environment_refuses_before_loading()
    {
        using var deploy = HostProcess.Start(new Dictionary<string, string> { ["BPFLC_BpfLifecycle__Budgets__PerProgramBytes"] = "4096" },
            Args("deploy", Sample("v1"), "--strategy", "immediate", "--attach", Hook));
        await deploy.WaitForExitAsync(Timeout);

        Assert.True(deploy.ExitCode == 4, deploy.ToString());
        Assert.Contains("budget", deploy.StandardOutput + deploy.StandardError, StringComparison.OrdinalIgnoreCase);
        Assert.Empty((await Json("versions", "--json")).EnumerateArray());
        Assert.False(Directory.Exists(Path.Combine(_pinRoot, _app, "versions", "1")));
    }

    [Fact]
    public async Task Application_and_places_come_from_the_BpfLifecycle_section_when_the_global_options_are_absent()
    {
        var environment = new Dictionary<string, string>
        {
            ["BPFLC_BpfLifecycle__Application"] = _app,
            ["BPFLC_BpfLifecycle__StateDirectory"] = _stateRoot,
            ["BPFLC_BpfLifecycle__PinRoot"] = _pinRoot,
        };
        using var deploy = HostProcess.Start(environment, "deploy", Sample("v1"), "--strategy", "immediate", "--attach", Hook);
        await deploy.WaitForExitAsync(Timeout);
        Assert.True(deploy.ExitCode == 0, deploy.ToString());

        // The same application seen through the global options: configuration and options name one place.
        var status = await Json("status", "--json");
        Assert.Equal(_app, Assert.Single(status.EnumerateArray().ToList()).GetProperty("application").GetString());
        Assert.True(File.Exists(Path.Combine(_pinRoot, _app, "versions", "1", "prog")));
        using var audit = await Bpflc("audit", "verify");
        Assert.True(audit.ExitCode == 0, audit.ToString());
        Assert.Contains(Path.Combine(_stateRoot, _app, "audit.log"), audit.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Global_options_override_the_configured_application_and_places()
    {
        var other = "o" + Guid.NewGuid().ToString("N")[..8];
        var environment = new Dictionary<string, string>
        {
            ["BPFLC_BpfLifecycle__Application"] = other,
            ["BPFLC_BpfLifecycle__StateDirectory"] = Path.Combine(_stateRoot, "configured"),
            ["BPFLC_BpfLifecycle__PinRoot"] = Path.Combine(_pinRoot, "configured"),
        };
        using var deploy = HostProcess.Start(environment, Args("deploy", Sample("v1"), "--strategy", "immediate", "--attach", Hook));
        await deploy.WaitForExitAsync(Timeout);

        Assert.True(deploy.ExitCode == 0, deploy.ToString());
        Assert.True(File.Exists(Path.Combine(_pinRoot, _app, "versions", "1", "prog")));
        Assert.True(File.Exists(Path.Combine(_stateRoot, _app, "audit.log")));
        Assert.False(Directory.Exists(Path.Combine(_stateRoot, "configured")));
        Assert.False(Directory.Exists(Path.Combine(_pinRoot, "configured")));
    }

    [Fact]
    public async Task Pin_root_outside_bpffs_is_a_configuration_error_that_names_the_option()
    {
        var outside = Path.Combine(_stateRoot, "pins");
        using var versions = HostProcess.Start(new Dictionary<string, string> { ["BPFLC_BpfLifecycle__PinRoot"] = outside },
            "--app", _app, "--state-dir", _stateRoot, "versions", "--json");
        await versions.WaitForExitAsync(Timeout);

        Assert.True(versions.ExitCode == 2, versions.ToString());
        Assert.Contains("BpfLifecycle:PinRoot", versions.StandardError, StringComparison.Ordinal);
        Assert.Contains(outside, versions.StandardError, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outside));
    }

    [Theory]
    [InlineData("--attach", "xdp:")]
    [InlineData("--attach", "bogus:veth0x")]
    [InlineData("--strategy", "yolo")]
    public async Task Bad_deploy_options_are_usage_errors_that_name_the_problem(string option, string value)
    {
        using var deploy = await Bpflc("deploy", Sample("v1"), option, value);

        Assert.True(deploy.ExitCode == 2, deploy.ToString());
        Assert.Contains(value.Split(':')[0], deploy.StandardError, StringComparison.Ordinal);
        Assert.Empty((await Json("versions", "--json")).EnumerateArray());
    }

    private static long Active(JsonElement status) => Assert.Single(status.EnumerateArray().ToList()).GetProperty("activeVersionId").GetInt64();

    private string[] Args(params string[] args) => ["--app", _app, "--state-dir", _stateRoot, "--pin-root", _pinRoot, .. args];

    private Task<HostProcess> Bpflc(params string[] args) => HostProcess.RunAsync(Timeout, Args(args));

    private async Task<JsonElement> Json(params string[] args)
    {
        using var p = await Bpflc(args);
        Assert.True(p.ExitCode == 0, p.ToString());
        return JsonDocument.Parse(p.StandardOutput).RootElement.Clone();
    }

    private async Task SendUntilCancelledAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await _net.SendUdpAsync(100, 9000, burst: 10, pauseMs: 5, cancellationToken: ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
