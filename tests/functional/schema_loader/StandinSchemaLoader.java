// A stand-in for the Scalar Schema Loader jar (tests only), for scalarops.pitr.schema_repair with
// method "local": it records what it was started with, then succeeds, or fails like the real one.
//
// STANDIN_LOADER_RECORD (directory): args.txt (one argument a line), config.properties and
// schema.json (copies of the --config and -f files, which the module deletes afterwards), and
// env.txt (the value of SCALAR_DB_PASSWORD, which the module takes from the release's Secret).
// STANDIN_LOADER_FAIL (text): print it to stderr and exit 3.
// STANDIN_LOADER_SLEEP (seconds): sleep that long first.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;

public final class StandinSchemaLoader {
  private StandinSchemaLoader() {}

  public static void main(String[] args) throws Exception {
    String record = System.getenv("STANDIN_LOADER_RECORD");
    if (record != null) {
      Path dir = Paths.get(record);
      Files.createDirectories(dir);
      Files.write(dir.resolve("args.txt"), String.join("\n", args).getBytes(StandardCharsets.UTF_8));
      copyOption(args, "--config", dir.resolve("config.properties"));
      copyOption(args, "-f", dir.resolve("schema.json"));
      String password = System.getenv("SCALAR_DB_PASSWORD");
      Files.write(dir.resolve("env.txt"), (password == null ? "" : password).getBytes(StandardCharsets.UTF_8));
    }
    String sleep = System.getenv("STANDIN_LOADER_SLEEP");
    if (sleep != null) {
      Thread.sleep((long) (Double.parseDouble(sleep) * 1000));
    }
    System.out.println("INFO  SchemaLoader - arguments: " + Arrays.toString(args));
    String fail = System.getenv("STANDIN_LOADER_FAIL");
    if (fail != null) {
      System.err.println("ERROR SchemaLoader - " + fail);
      System.exit(3);
    }
    System.out.println("INFO  SchemaLoader - repairing namespaces and tables succeeded");
  }

  private static void copyOption(String[] args, String option, Path target) throws Exception {
    int at = Arrays.asList(args).indexOf(option);
    if (at >= 0 && at + 1 < args.length) {
      Files.copy(Paths.get(args[at + 1]), target);
    }
  }
}
