using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests;

/// <summary>Stops the shared containerd after every fixture under the Imageimportd.Tests namespace has run.</summary>
[SetUpFixture]
public sealed class SharedContainerdTeardown
{
    [OneTimeTearDown]
    public async Task StopSharedContainerdAsync() =>
        await SharedContainerd.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
}
