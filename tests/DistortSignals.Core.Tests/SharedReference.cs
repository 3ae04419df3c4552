namespace DistortSignals.Core.Tests;

/// <summary>
/// Locates the shared reference data: <c>DS_SHARED_DIR</c> if set, otherwise <c>../shared</c> next to the
/// folder holding DistortSignals.sln (found by walking up from the test binaries).
/// </summary>
internal static class SharedReference
{
    public const string EnvironmentVariable = "DS_SHARED_DIR";

    /// <summary>Full path of a folder under the shared folder; fails with the path looked at when it is missing.</summary>
    public static string Directory(string relativePath)
    {
        var shared = SharedRoot();
        var path = Path.GetFullPath(Path.Combine(shared, relativePath));
        if (!System.IO.Directory.Exists(path))
        {
            throw new DirectoryNotFoundException(
                $"shared reference folder not found: {path} (set {EnvironmentVariable} to the shared folder to override)");
        }

        return path;
    }

    private static string SharedRoot()
    {
        var overridden = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(overridden))
        {
            return overridden;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DistortSignals.sln")))
            {
                return Path.Combine(dir.FullName, "..", "shared");
            }
        }

        throw new DirectoryNotFoundException(
            $"DistortSignals.sln not found above {AppContext.BaseDirectory}; set {EnvironmentVariable} to the shared folder");
    }
}
