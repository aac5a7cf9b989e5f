using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Isolates.Analyzers;
using Microsoft.CodeAnalysis;

namespace Isolates.Tests.Analyzers;

/// <summary>
/// The analyzer's help links are what a package user's IDE opens: absolute https links into the repository's docs,
/// built from the RepositoryUrl set once in Directory.Build.props, to a heading that exists.
/// </summary>
[TestFixture]
public partial class HelpLinkTests
{
    [Test]
    public void HelpLinkUri_EveryDescriptor_AbsoluteHttpsLinkFromRepositoryUrlToAHeadingOfTheDocs()
    {
        string root = RepositoryRoot();
        string repositoryUrl = XDocument.Load(Path.Combine(root, "Directory.Build.props")).Descendants("RepositoryUrl").Single().Value.TrimEnd('/');
        DiagnosticDescriptor[] descriptors = [.. typeof(ShareableAnalyzer).Assembly.GetTypes()
            .SelectMany(t => t.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
            .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)];
        Assert.That(descriptors.Select(d => d.Id), Does.Contain("ISO001").And.Contain("ISO004"), "found the descriptors");

        Assert.Multiple(() =>
        {
            foreach (DiagnosticDescriptor descriptor in descriptors)
            {
                string link = descriptor.HelpLinkUri;
                Assert.That(Uri.TryCreate(link, UriKind.Absolute, out Uri? uri) && uri.Scheme == Uri.UriSchemeHttps, $"{descriptor.Id}: '{link}' is an absolute https link");
                Assert.That(link, Does.StartWith(repositoryUrl + "/blob/main/docs/"), $"{descriptor.Id}: built from RepositoryUrl");
                if (uri is null || !link.StartsWith(repositoryUrl + "/blob/main/", StringComparison.Ordinal))
                {
                    continue;
                }

                string file = Path.Combine(root, Uri.UnescapeDataString(uri.AbsolutePath[(new Uri(repositoryUrl).AbsolutePath.Length + "/blob/main/".Length)..]));
                Assert.That(File.Exists(file), Is.True, $"{descriptor.Id}: {file} exists");
                if (File.Exists(file))
                {
                    string anchor = uri.Fragment.TrimStart('#');
                    Assert.That(anchor, Is.Not.Empty, $"{descriptor.Id}: links to a section");
                    Dictionary<string, string> sections = Sections(File.ReadAllLines(file));
                    Assert.That(sections.Keys, Does.Contain(anchor), $"{descriptor.Id}: {Path.GetFileName(file)} has a heading with the anchor #{anchor}");
                    Assert.That(sections.GetValueOrDefault(anchor), Does.Contain(descriptor.Id), $"{descriptor.Id}: the section #{anchor} is the one that describes it");
                }
            }
        });
    }

    /// <summary>
    /// A Markdown file's sections by the anchor GitHub gives their heading (lower case, punctuation dropped, spaces as
    /// dashes, repeats numbered), each with its text up to the next heading.
    /// </summary>
    private static Dictionary<string, string> Sections(string[] lines)
    {
        var sections = new Dictionary<string, string>(StringComparer.Ordinal);
        var text = new System.Text.StringBuilder();
        string? current = null;
        bool inFence = false;
        foreach (string line in lines)
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                inFence = !inFence;
            }

            if (inFence || HeadingPattern().Match(line) is not { Success: true } heading)
            {
                text.AppendLine(line);
                continue;
            }

            if (current is not null)
            {
                sections[current] = text.ToString();
            }

            string slug = NotInAnchor().Replace(heading.Groups[1].Value.Trim().ToLowerInvariant(), "").Replace(' ', '-');
            int repeats = sections.Keys.Count(a => a == slug || a.StartsWith(slug + "-", StringComparison.Ordinal) && int.TryParse(a[(slug.Length + 1)..], out _));
            current = repeats == 0 ? slug : $"{slug}-{repeats}";
            text.Clear();
        }

        if (current is not null)
        {
            sections[current] = text.ToString();
        }

        return sections;
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Isolates.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Isolates.sln above {TestContext.CurrentContext.TestDirectory}: run the tests from a repository checkout.");
    }

    [GeneratedRegex(@"^#{1,6}\s+(.+?)\s*#*\s*$")]
    private static partial Regex HeadingPattern();

    [GeneratedRegex(@"[^\p{L}\p{Nd}\p{Mn}\p{Pc} -]")]
    private static partial Regex NotInAnchor();
}
