// Helpers shared by CuratorScenarios and RecipeScenarios: output and
// normalisation, clients, bounded waits, the watchdog.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.utils.CloseableUtils;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;

class ScenarioSupport {
    static final int WATCHDOG_SECONDS = Integer.getInteger("scenarios.watchdog", 50);
    /** Longest wait for something that must happen. */
    static final long WAIT_MS = 10_000;
    /** How long to watch for something that must not happen. */
    static final long QUIET_MS = 300;

    static String connect;
    static String scenario = "-";
    static final List<CuratorFramework> clients = new ArrayList<>();

    interface Scenario {
        void run() throws Exception;
    }

    static synchronized void out(String line) {
        System.out.println(scenario + ": " + line);
        System.out.flush();
    }

    static String describe(Throwable t) {
        if (t instanceof KeeperException) {
            return "KeeperException " + ((KeeperException) t).code();
        }
        return t.getClass().getName() + ": " + t.getMessage();
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String s(byte[] data) {
        return data == null ? "null" : "\"" + new String(data, StandardCharsets.UTF_8) + "\"";
    }

    /** Stat without zxids and times; the owner relative to `self`. */
    static String stat(Stat st, CuratorFramework self) throws Exception {
        if (st == null) {
            return "absent";
        }
        return "version=" + st.getVersion() + " cversion=" + st.getCversion()
                + " aversion=" + st.getAversion() + " dataLength=" + st.getDataLength()
                + " numChildren=" + st.getNumChildren() + " owner=" + owner(st, self);
    }

    static String owner(Stat st, CuratorFramework self) throws Exception {
        long o = st.getEphemeralOwner();
        if (o == 0) {
            return "none"; // persistent, and containers (DataTree.getClientEphemeralOwner)
        }
        return o == self.getZookeeperClient().getZooKeeper().getSessionId() ? "own" : "other";
    }

    /** Curator's protected names (_c_<uuid>-...) without the uuid. */
    static String unprotect(String name) {
        return name.replaceAll("_c_[0-9a-fA-F-]{36}-", "_c_*-");
    }

    static List<String> sortedChildren(CuratorFramework c, String path) throws Exception {
        List<String> kids = new ArrayList<>();
        for (String k : c.getChildren().forPath(path)) {
            kids.add(unprotect(k));
        }
        Collections.sort(kids);
        return kids;
    }

    /** Children, or [] when the node is gone (an empty container may be reaped). */
    static List<String> childrenOrEmpty(CuratorFramework c, String path) throws Exception {
        try {
            return sortedChildren(c, path);
        } catch (KeeperException.NoNodeException e) {
            return new ArrayList<>();
        }
    }

    static String acls(List<ACL> list) {
        List<String> out = new ArrayList<>();
        for (ACL a : list) {
            out.add(a.getId().getScheme() + ":" + a.getId().getId() + " perms=" + a.getPerms());
        }
        return out.toString();
    }

    /** A watcher that adds "TYPE path" of each event it gets to {@code q}. */
    static Watcher recordingInto(BlockingQueue<String> q) {
        return ev -> q.add(ev.getType() + " " + ev.getPath());
    }

    static <T> String poll(BlockingQueue<T> q) throws InterruptedException {
        T v = q.poll(WAIT_MS, TimeUnit.MILLISECONDS);
        return v == null ? "(nothing within " + WAIT_MS + " ms)" : v.toString();
    }

    static <T> String quiet(BlockingQueue<T> q) throws InterruptedException {
        T v = q.poll(QUIET_MS, TimeUnit.MILLISECONDS);
        return v == null ? "none" : "unexpected " + v;
    }

    interface Cond {
        boolean ok() throws Exception;
    }

    /** Polls until cond holds (true) or WAIT_MS passes (false). */
    static boolean waitFor(Cond cond) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (System.nanoTime() < deadline) {
            if (cond.ok()) {
                return true;
            }
            Thread.sleep(20);
        }
        return cond.ok();
    }

    static void join(Thread t) throws InterruptedException {
        t.join(WAIT_MS);
        if (t.isAlive()) {
            out("thread " + t.getName() + " still running after " + WAIT_MS + " ms");
        }
    }

    static Thread thread(String name, Scenario body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                out(name + " ERROR " + describe(e));
                e.printStackTrace();
            }
        }, scenario + "-" + name);
        t.setDaemon(true);
        t.start();
        return t;
    }


    static CuratorFramework client() throws Exception {
        return client(null);
    }

    static CuratorFramework client(String digestAuth) throws Exception {
        CuratorFrameworkFactory.Builder builder = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(10_000)
                .connectionTimeoutMs(5_000)
                .retryPolicy(new RetryNTimes(3, 200))
                .defaultData(new byte[0]);
        if (digestAuth != null) {
            builder.authorization("digest", b(digestAuth));
        }
        CuratorFramework c = builder.build();
        clients.add(c);
        c.start();
        if (!c.blockUntilConnected((int) WAIT_MS, TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("client did not connect within " + WAIT_MS + " ms");
        }
        return c;
    }

    static void closeClients() {
        for (CuratorFramework c : clients) {
            CloseableUtils.closeQuietly(c);
        }
        clients.clear();
    }

    static void startWatchdog() {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(WATCHDOG_SECONDS * 1000L);
            } catch (InterruptedException e) {
                return;
            }
            System.out.println(scenario + ": WATCHDOG no end after " + WATCHDOG_SECONDS + " s");
            System.out.flush();
            for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
                System.err.println("thread " + e.getKey().getName());
                for (StackTraceElement el : e.getValue()) {
                    System.err.println("    at " + el);
                }
            }
            Runtime.getRuntime().halt(3);
        }, "watchdog");
        t.setDaemon(true);
        t.start();
    }
}
