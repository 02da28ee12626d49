// Runs the dotnet CLI in a child process and fails with its output when it fails.
using System.Diagnostics;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Packaging.Tests;

internal static class Dotnet
{
    public static string RepositoryRoot { get; } = BpfLifecycle.TestKit.Repository.Root;

    public static async Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var (code, output) = await Tool.RunAsync(StartInfo(workingDirectory, args), timeout);
        return (code, output);
    }

    public static async Task<string> RunCheckedAsync(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var (code, output) = await RunAsync(workingDirectory, timeout, args);
        Assert.True(code == 0, $"'dotnet {string.Join(' ', args)}' failed with {code}:\n{output}");
        return output;
    }

    private static ProcessStartInfo StartInfo(string workingDirectory, string[] args)
    {
        var psi = Tool.StartInfo("dotnet", args);
        psi.WorkingDirectory = workingDirectory;

        // The child must not inherit the test host's MSBuild/test settings.
        psi.Environment.Remove("MSBuildSDKsPath");
        psi.Environment.Remove("MSBuildExtensionsPath");
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        return psi;
    }
}
