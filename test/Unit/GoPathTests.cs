using Imageimportd.Archive;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

/// <summary>Rows taken from Go's own src/path/path_test.go, plus the tar entry names that matter here.</summary>
[TestFixture]
public sealed class GoPathTests
{
    [TestCase("", ".")]
    [TestCase("abc", "abc")]
    [TestCase("a/b/c", "a/b/c")]
    [TestCase(".", ".")]
    [TestCase("..", "..")]
    [TestCase("../..", "../..")]
    [TestCase("../../abc", "../../abc")]
    [TestCase("/abc", "/abc")]
    [TestCase("/", "/")]
    [TestCase("abc/", "abc")]
    [TestCase("//abc", "/abc")]
    [TestCase("abc//def//ghi", "abc/def/ghi")]
    [TestCase("abc/./def", "abc/def")]
    [TestCase("/./abc/def", "/abc/def")]
    [TestCase("abc/.", "abc")]
    [TestCase("abc/def/ghi/../jkl", "abc/def/jkl")]
    [TestCase("abc/def/../ghi/../jkl", "abc/jkl")]
    [TestCase("abc/def/../..", ".")]
    [TestCase("/abc/def/../..", "/")]
    [TestCase("abc/def/../../..", "..")]
    [TestCase("/abc/def/../../..", "/")]
    [TestCase("abc/def/../../../ghi/jkl/../../../mno", "../../mno")]
    [TestCase("abc/../../././../def", "../../def")]
    [TestCase("./manifest.json", "manifest.json")]
    [TestCase("./blobs/sha256/", "blobs/sha256")]
    public void Clean_Path_AsGoPathClean(string path, string expected)
    {
        Assert.That(GoPath.Clean(path), Is.EqualTo(expected));
    }

    [TestCase("", ".")]
    [TestCase(".", ".")]
    [TestCase("/.", "/")]
    [TestCase("/", "/")]
    [TestCase("////", "/")]
    [TestCase("/foo", "/")]
    [TestCase("x/", "x")]
    [TestCase("abc", ".")]
    [TestCase("abc/def", "abc")]
    [TestCase("a/b/.x", "a/b")]
    [TestCase("a/b/c.", "a/b")]
    [TestCase("./abc/layer.tar", "abc")]
    public void Dir_Path_AsGoPathDir(string path, string expected)
    {
        Assert.That(GoPath.Dir(path), Is.EqualTo(expected));
    }

    [TestCase("a", "b", "a/b")]
    [TestCase("a", "", "a")]
    [TestCase("", "b", "b")]
    [TestCase("/", "a", "/a")]
    [TestCase("/", "", "/")]
    [TestCase("a/", "b", "a/b")]
    [TestCase("a/", "", "a")]
    [TestCase("", "", "")]
    [TestCase("abc", "../def/layer.tar", "def/layer.tar")]
    [TestCase(".", "../../etc/passwd", "../../etc/passwd")]
    [TestCase("abc", "/abs/layer.tar", "abc/abs/layer.tar")]
    public void Join_TwoElements_AsGoPathJoin(string a, string b, string expected)
    {
        Assert.That(GoPath.Join(a, b), Is.EqualTo(expected));
    }
}
