// A user who clones the repository from a real remote and packs gets symbols that point at that remote's sources for
// the very commit packed. The clone here is a local one with a GitHub-style "origin" URL; nothing fetches from it.
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;

namespace BpfLifecycle.Packaging.Tests;

public sealed class SourceLinkTests
{
    private const string Origin = "https://github.com/bpflifecycle/bpflifecycle.git";
    private const string Project = "BpfLifecycle.Maps";
    private static readonly Guid s_sourceLink = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");
    private static readonly Guid s_embeddedSource = new("0E8A571B-6926-466E-B4AD-8AB04611F5FE");

    [Fact]
    public async Task Packing_a_clone_maps_the_symbols_to_the_origin_remote_at_the_packed_commit()
    {
        var root = Path.Combine(Path.GetTempPath(), "bpflc-sourcelink-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            var clone = Path.Combine(root, "repo");
            var output = Path.Combine(root, "out");
            Directory.CreateDirectory(root);
            await Git.RunCheckedAsync(root, "clone", "--quiet", Dotnet.RepositoryRoot, clone);
            await Git.RunCheckedAsync(clone, "remote", "set-url", "origin", Origin);
            var head = await Git.RunCheckedAsync(clone, "rev-parse", "HEAD");
            var tracked = (await Git.RunCheckedAsync(clone, "ls-files", "-z")).Split('\0').ToHashSet(StringComparer.Ordinal);

            // ContinuousIntegrationBuild is given here so that the caller's CI variable does not decide the paths.
            // bin/obj stay inside the clone, as for a user: generated sources built outside the repository would
            // keep their absolute paths.
            await Dotnet.RunCheckedAsync(clone, TimeSpan.FromMinutes(5),
                "pack", Path.Combine("src", Project, Project + ".csproj"), "-c", "Release", "-o", output,
                "-p:ContinuousIntegrationBuild=true", "-nologo", "-v", "q");

            using (var nupkg = ZipFile.OpenRead(Directory.GetFiles(output, "*.nupkg").Single()))
            using (var s = nupkg.GetEntry($"{Project}.nuspec")!.Open())
            {
                var repository = XDocument.Load(s).Descendants().Single(e => e.Name.LocalName == "repository");
                Assert.Equal("git", (string?)repository.Attribute("type"));
                Assert.Equal(Origin, (string?)repository.Attribute("url"));
                Assert.Equal(head, (string?)repository.Attribute("commit"));
            }

            using var snupkg = ZipFile.OpenRead(Directory.GetFiles(output, "*.snupkg").Single());
            var pdbBytes = new MemoryStream();
            using (var s = snupkg.GetEntry($"lib/net10.0/{Project}.pdb")!.Open())
            {
                await s.CopyToAsync(pdbBytes, TestContext.Current.CancellationToken);
            }

            pdbBytes.Position = 0;
            using var provider = MetadataReaderProvider.FromPortablePdbStream(pdbBytes);
            var pdb = provider.GetMetadataReader();

            // Under ContinuousIntegrationBuild the compiler maps the repository root to "/_/", and SourceLink maps
            // that root to the raw sources of the packed commit.
            var sourceLink = pdb.GetCustomDebugInformation(EntityHandle.ModuleDefinition)
                .Select(pdb.GetCustomDebugInformation)
                .Where(c => pdb.GetGuid(c.Kind) == s_sourceLink)
                .Select(c => pdb.GetBlobBytes(c.Value))
                .SingleOrDefault();
            Assert.True(sourceLink is not null, "The PDB carries no SourceLink.");
            using var json = JsonDocument.Parse(sourceLink);
            var documents = json.RootElement.GetProperty("documents").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
            Assert.Equal(new Dictionary<string, string?> { ["/_/*"] = $"https://raw.githubusercontent.com/bpflifecycle/bpflifecycle/{head}/*" }, documents);

            // Every document lies under the mapped root: a tracked file there is what the URL serves, anything else
            // (generated code) is embedded in the PDB. No path of the machine that packed shows.
            var names = pdb.Documents.Select(d => (Handle: d, Name: pdb.GetString(pdb.GetDocument(d).Name))).ToList();
            var all = string.Join('\n', names.Select(n => n.Name));
            Assert.Contains($"/_/src/{Project}/BpfMap.cs", names.Select(n => n.Name));
            foreach (var (handle, name) in names)
            {
                Assert.True(name.StartsWith("/_/", StringComparison.Ordinal), $"{name} lies outside the mapped root; documents:\n{all}");
                var embedded = pdb.GetCustomDebugInformation(handle).Any(c => pdb.GetGuid(pdb.GetCustomDebugInformation(c).Kind) == s_embeddedSource);
                Assert.True(tracked.Contains(name["/_/".Length..]) || embedded, $"{name} is neither tracked at {head} nor embedded; documents:\n{all}");
            }

            Assert.DoesNotContain(Path.GetFileName(root), Encoding.UTF8.GetString(pdbBytes.ToArray()), StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}
