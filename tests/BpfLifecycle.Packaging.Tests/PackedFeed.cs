// Packs every project under src/ once per test run into a temporary folder feed, with a version of its own so the
// machine's package cache can never serve an older build of the same version. Build outputs go to a private
// artifacts path, away from the repository's bin/obj.
namespace BpfLifecycle.Packaging.Tests;

public sealed class PackedFeed : IAsyncLifetime
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "bpflc-pack-" + Guid.NewGuid().ToString("N")[..10]);

    public string Feed => Path.Combine(Root, "feed");

    public string Version { get; } = "0.1.0-pkgtest." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture);

    public IReadOnlyList<string> PackageIds { get; private set; } = [];

    public string PackagePath(string id, string extension = "nupkg") => Path.Combine(Feed, $"{id}.{Version}.{extension}");

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Feed);
        var projects = Directory.GetDirectories(Path.Combine(Dotnet.RepositoryRoot, "src"))
            .Select(d => Path.Combine(d, Path.GetFileName(d) + ".csproj"))
            .Where(File.Exists)
            .Order(StringComparer.Ordinal)
            .ToList();
        foreach (var project in projects)
        {
            await Dotnet.RunCheckedAsync(Dotnet.RepositoryRoot, TimeSpan.FromMinutes(10),
                "pack", project, "-c", "Release", "-o", Feed, "--artifacts-path", Path.Combine(Root, "build"),
                $"-p:Version={Version}", "-nologo", "-v", "q");
        }

        PackageIds = projects.Select(Path.GetFileNameWithoutExtension).ToList()!;
    }

    public ValueTask DisposeAsync()
    {
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }

        // Drop this run's unique version from the global package cache.
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in PackageIds)
        {
            var dir = Path.Combine(cache, id.ToLowerInvariant(), Version);
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>One packed feed shared by every test class that needs it (packing is the slow part).</summary>
[CollectionDefinition(Name)]
public sealed class PackedFeedCollection : ICollectionFixture<PackedFeed>
{
    public const string Name = "packed feed";
}
