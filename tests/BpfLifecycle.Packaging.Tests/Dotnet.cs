// Runs the dotnet CLI in a child process and fails with its output when it fails.
using System.Diagnostics;

namespace BpfLifecycle.Packaging.Tests;

internal static class Dotnet
{
    public static string RepositoryRoot { get; } = BpfLifecycle.TestKit.Repository.Root;

    public static async Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        // The child must not inherit the test host's MSBuild/test settings.
        psi.Environment.Remove("MSBuildSDKsPath");
        psi.Environment.Remove("MSBuildExtensionsPath");
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"'dotnet {string.Join(' ', args)}' did not finish within {timeout}.");
        }

        return (p.ExitCode, await stdout + await stderr);
    }

    public static async Task<string> RunCheckedAsync(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var (code, output) = await RunAsync(workingDirectory, timeout, args);
        Assert.True(code == 0, $"'dotnet {string.Join(' ', args)}' failed with {code}:\n{output}");
        return output;
    }
}
