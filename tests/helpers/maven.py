"""Libraries from Maven Central for the test programs (Akka, Pekko, H2): Maven fetches each set
once into ~/.m2 and copies its jars, with their dependencies, into a folder of the test session."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.unclosed.tests</groupId><artifactId>{name}</artifactId><version>1</version>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""
DEPENDENCY = "    <dependency><groupId>{}</groupId><artifactId>{}</artifactId><version>{}</version></dependency>"


def maven_jars(name: str, coordinates: list[str], folder: Path) -> list[Path]:
    """The jars of `coordinates` (group:artifact:version) and all they depend on, in `folder`."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("the tests need Maven (`mvn`) to fetch their libraries: run .ci/setup")
    folder.mkdir(parents=True, exist_ok=True)
    dependencies = "\n".join(DEPENDENCY.format(*c.split(":")) for c in coordinates)
    (folder / "pom.xml").write_text(POM.format(name=name, dependencies=dependencies))
    result = subprocess.run([mvn, "-q", "-B", "-f", str(folder / "pom.xml"), "dependency:copy-dependencies",
                             f"-DoutputDirectory={folder / 'jars'}"], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"mvn could not fetch {', '.join(coordinates)}: {result.stdout[-2000:]}{result.stderr[-2000:]}")
    return sorted((folder / "jars").glob("*.jar"))
