// Runs git in a child process and fails with its output when it fails.
using System.Diagnostics;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Packaging.Tests;

internal static class Git
{
    public static async Task<string> RunCheckedAsync(string workingDirectory, params string[] args)
    {
        var (code, output) = await Tool.RunAsync(StartInfo(workingDirectory, args), TimeSpan.FromMinutes(1));
        Assert.True(code == 0, $"'git {string.Join(' ', args)}' failed with {code}:\n{output}");
        return output.Trim();
    }

    private static ProcessStartInfo StartInfo(string workingDirectory, string[] args)
    {
        var psi = Tool.StartInfo("git", args);
        psi.WorkingDirectory = workingDirectory;

        // A repository named by the environment (as inside a git hook) would take the place of the one in the
        // working directory.
        foreach (var name in new[] { "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CEILING_DIRECTORIES" })
        {
            psi.Environment.Remove(name);
        }

        psi.Environment["GIT_TERMINAL_PROMPT"] = "0";
        return psi;
    }
}
