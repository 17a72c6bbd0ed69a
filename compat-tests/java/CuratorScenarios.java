// Apache Curator recipes against one server; prints a deterministic transcript.
//
//   java -cp <classes>:<Debian's curator/zookeeper jars> CuratorScenarios HOST:PORT [SCENARIO...]
//
// compat-tests/test_curator.py compiles the files in this directory and
// runs this one against Apache ZooKeeper and against ferrokeeper; both
// transcripts must equal the expected lines there. One line per observation, "<scenario>: <what>". No times,
// session ids or zxids are printed: session owners print as own/other/none,
// lock and latch node names keep their sequence number but not Curator's
// protection UUID. Every wait is bounded; a scenario that throws prints one
// "ERROR" line (the stack goes to stderr) and the next scenario runs.
// A watchdog ends the process (exit 3) after WATCHDOG_SECONDS.
//
// The scenarios take care to observe only what is deterministic: the next
// operation starts after the event of the previous one has been seen, and
// container parents (which a server may reap once empty, at its own pace)
// are not looked at once they may be empty.
//
// This file has main() and the scenarios on the framework API (nodes,
// watches, caches, transactions, ephemerals); RecipeScenarios.java has the
// recipes (locks, leaders, counters, barriers, queues); ScenarioSupport.java
// the helpers.

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.TreeCache;
import org.apache.curator.framework.recipes.cache.TreeCacheEvent;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;

public final class CuratorScenarios extends ScenarioSupport {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: CuratorScenarios HOST:PORT [SCENARIO...]");
            System.exit(2);
        }
        connect = args[0];
        startWatchdog();

        Map<String, Scenario> all = new LinkedHashMap<>();
        all.put("crud", CuratorScenarios::crud);
        all.put("watches", CuratorScenarios::watches);
        all.put("mixed_watch_modes", CuratorScenarios::mixedWatchModes);
        all.put("mutex", RecipeScenarios::mutex);
        all.put("rwlock", RecipeScenarios::rwlock);
        all.put("leader_latch", RecipeScenarios::leaderLatch);
        all.put("leader_selector", RecipeScenarios::leaderSelector);
        all.put("shared_count", RecipeScenarios::sharedCount);
        all.put("atomic_long", RecipeScenarios::atomicLong);
        all.put("cache", CuratorScenarios::cache);
        all.put("transaction", CuratorScenarios::transaction);
        all.put("barrier", RecipeScenarios::barrier);
        all.put("double_barrier", RecipeScenarios::doubleBarrier);
        all.put("simple_queue", RecipeScenarios::simpleQueue);
        all.put("distributed_queue", RecipeScenarios::distributedQueue);
        all.put("ephemeral", CuratorScenarios::ephemeral);

        List<String> chosen = args.length > 1
                ? Arrays.asList(args).subList(1, args.length)
                : new ArrayList<>(all.keySet());
        for (String name : chosen) {
            Scenario s = all.get(name);
            if (s == null) {
                System.err.println("unknown scenario " + name + "; known: " + all.keySet());
                System.exit(2);
            }
            scenario = name;
            try {
                s.run();
            } catch (Throwable t) {
                out("ERROR " + describe(t));
                System.err.println("scenario " + name + " failed:");
                t.printStackTrace();
            } finally {
                closeClients();
            }
        }
        scenario = "-";
        out("done");
        System.out.flush();
        System.exit(0);
    }

    /** Creates with container parents, data and stat versions, errors, ACLs, namespaces, sync. */
    static void crud() throws Exception {
        CuratorFramework c = client();
        out("create " + c.create().creatingParentContainersIfNeeded().forPath("/crud/a/b/c", b("v0")));
        for (String p : new String[] {"/crud", "/crud/a", "/crud/a/b", "/crud/a/b/c"}) {
            out("stat " + p + " " + stat(c.checkExists().forPath(p), c));
        }
        Stat st = new Stat();
        byte[] data = c.getData().storingStatIn(st).forPath("/crud/a/b/c");
        out("getData " + s(data) + " " + stat(st, c));
        out("setData version 0 -> " + stat(c.setData().withVersion(0).forPath("/crud/a/b/c", b("v1")), c));
        out("setData any version -> " + stat(c.setData().forPath("/crud/a/b/c", b("v22")), c));
        Map<String, Scenario> failing = new LinkedHashMap<>();
        failing.put("setData stale version", () -> c.setData().withVersion(1).forPath("/crud/a/b/c", b("x")));
        failing.put("create existing", () -> c.create().forPath("/crud/a/b/c", b("x")));
        failing.put("create without parent", () -> c.create().forPath("/crud/missing/x", b("x")));
        failing.put("delete non-empty", () -> c.delete().forPath("/crud/a"));
        failing.put("delete wrong version", () -> c.delete().withVersion(5).forPath("/crud/a/b/c"));
        failing.put("getData missing", () -> c.getData().forPath("/crud/nothing"));
        failing.put("setData missing", () -> c.setData().forPath("/crud/nothing", b("x")));
        for (Map.Entry<String, Scenario> f : failing.entrySet()) {
            try {
                f.getValue().run();
                out(f.getKey() + " -> no error");
            } catch (KeeperException e) {
                out(f.getKey() + " -> " + e.code() + " path=" + e.getPath());
            }
        }
        out("checkExists missing -> " + stat(c.checkExists().forPath("/crud/nothing"), c));
        out("orSetData existing -> " + c.create().orSetData().forPath("/crud/a/b/c", b("v3")));
        data = c.getData().storingStatIn(st).forPath("/crud/a/b/c");
        out("getData " + s(data) + " " + stat(st, c));
        out("orSetData new -> " + c.create().orSetData().forPath("/crud/a/b/d", b("d")));

        for (int i = 0; i < 3; i++) {
            out("sequential " + c.create().creatingParentsIfNeeded()
                    .withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath("/crud/seq/n-", b("" + i)));
        }
        c.delete().forPath("/crud/seq/n-0000000001");
        out("sequential after delete " + c.create()
                .withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath("/crud/seq/n-", b("3")));
        out("children /crud/seq " + sortedChildren(c, "/crud/seq"));
        out("stat /crud/seq " + stat(c.checkExists().forPath("/crud/seq"), c));

        out("acl default " + acls(c.getACL().forPath("/crud/a/b/c")));
        List<ACL> readAdmin = Collections.singletonList(
                new ACL(ZooDefs.Perms.READ | ZooDefs.Perms.ADMIN, ZooDefs.Ids.ANYONE_ID_UNSAFE));
        c.create().withACL(readAdmin).forPath("/crud/ro", b("ro"));
        out("acl read-only " + acls(c.getACL().forPath("/crud/ro")));
        try {
            c.setData().forPath("/crud/ro", b("x"));
            out("setData read-only -> no error");
        } catch (KeeperException e) {
            out("setData read-only -> " + e.code());
        }
        out("setACL -> " + stat(c.setACL().withACL(ZooDefs.Ids.OPEN_ACL_UNSAFE).forPath("/crud/ro"), c));
        out("setData after setACL -> " + stat(c.setData().forPath("/crud/ro", b("rw")), c));

        CuratorFramework alice = client("alice:secret");
        alice.create().withACL(ZooDefs.Ids.CREATOR_ALL_ACL).forPath("/crud/secret", b("s"));
        out("acl creator " + acls(alice.getACL().forPath("/crud/secret")));
        out("alice getData " + s(alice.getData().forPath("/crud/secret")));
        try {
            c.getData().forPath("/crud/secret");
            out("anonymous getData -> no error");
        } catch (KeeperException e) {
            out("anonymous getData -> " + e.code());
        }

        CuratorFramework ns = c.usingNamespace("ns");
        out("namespace create -> " + ns.create().forPath("/x", b("in ns")));
        out("namespace getData " + s(ns.getData().forPath("/x")));
        out("namespace real path " + s(c.getData().forPath("/ns/x")));
        out("namespace node " + stat(c.checkExists().forPath("/ns"), c));

        c.delete().deletingChildrenIfNeeded().forPath("/crud/a");
        out("deletingChildrenIfNeeded /crud/a -> " + stat(c.checkExists().forPath("/crud/a"), c));
        c.delete().guaranteed().forPath("/crud/ro");
        out("guaranteed delete /crud/ro -> " + stat(c.checkExists().forPath("/crud/ro"), c));

        BlockingQueue<String> synced = new LinkedBlockingQueue<>();
        c.sync().inBackground((cl, ev) -> synced.add(ev.getType() + " rc=" + ev.getResultCode()
                + " path=" + ev.getPath())).forPath("/crud");
        out("sync " + poll(synced));
        out("children / " + sortedChildren(c, "/"));
        out("children /crud " + sortedChildren(c, "/crud"));
    }

    /** One-shot watches, persistent and persistent-recursive watches, removing watches. */
    static void watches() throws Exception {
        CuratorFramework c = client();
        CuratorFramework w = client();
        // the persistent and the recursive watch on /w come from different
        // sessions: in 3.8 a session holds one mode per path (see mixedWatchModes)
        CuratorFramework w2 = client();
        BlockingQueue<String> once = new LinkedBlockingQueue<>();
        Watcher onceW = recordingInto(once);

        out("exists watch on missing -> " + stat(w.checkExists().usingWatcher(onceW).forPath("/w"), w));
        c.create().forPath("/w", b("0"));
        out("one-shot " + poll(once));
        w.getData().usingWatcher(onceW).forPath("/w");
        c.setData().forPath("/w", b("1"));
        out("one-shot " + poll(once));
        c.setData().forPath("/w", b("2"));
        out("one-shot after it fired " + quiet(once));
        w.getChildren().usingWatcher(onceW).forPath("/w");
        c.create().forPath("/w/k", b(""));
        out("one-shot " + poll(once));

        BlockingQueue<String> pers = new LinkedBlockingQueue<>();
        Watcher persW = recordingInto(pers);
        w.watchers().add().withMode(AddWatchMode.PERSISTENT).usingWatcher(persW).forPath("/w");
        BlockingQueue<String> rec = new LinkedBlockingQueue<>();
        Watcher recW = recordingInto(rec);
        w2.watchers().add().withMode(AddWatchMode.PERSISTENT_RECURSIVE).usingWatcher(recW).forPath("/w");

        c.setData().forPath("/w", b("3"));
        out("persistent " + poll(pers) + " | recursive " + poll(rec));
        c.setData().forPath("/w", b("4"));
        out("persistent " + poll(pers) + " | recursive " + poll(rec));
        c.create().forPath("/w/k2", b(""));
        out("persistent " + poll(pers) + " | recursive " + poll(rec));
        c.setData().forPath("/w/k2", b("x"));
        out("persistent " + quiet(pers) + " | recursive " + poll(rec));
        c.create().forPath("/w/k2/deep", b(""));
        out("persistent " + quiet(pers) + " | recursive " + poll(rec));
        c.delete().forPath("/w/k2/deep");
        out("persistent " + quiet(pers) + " | recursive " + poll(rec));
        c.delete().deletingChildrenIfNeeded().forPath("/w");
        List<String> recEvents = new ArrayList<>();
        List<String> persEvents = new ArrayList<>();
        // /w/k, /w/k2 (any order) then /w: 3 events for the recursive watch;
        // 2 child changes and the delete for the persistent one
        for (int i = 0; i < 3; i++) {
            recEvents.add(poll(rec));
            persEvents.add(poll(pers));
        }
        out("recursive after deleteall " + recEvents.get(2) + " after " + sortedOf(recEvents.subList(0, 2)));
        out("persistent after deleteall " + persEvents);
        out("after deleteall " + quiet(pers) + " | " + quiet(rec));
        c.create().forPath("/w", b("again"));
        out("persistent survives delete " + poll(pers) + " | recursive " + poll(rec));

        w.watchers().remove(persW).forPath("/w");
        out("removed persistent watch: watcher sees " + poll(pers));
        c.setData().forPath("/w", b("5"));
        out("after remove persistent " + quiet(pers) + " | recursive " + poll(rec));
        try {
            w.watchers().remove(persW).forPath("/w");
            out("remove again -> no error");
        } catch (KeeperException e) {
            out("remove again -> " + e.code());
        }
    }

    /**
     * Apache ZooKeeper 3.8 keeps one watch mode per (connection, path): a
     * standard watch set on a path replaces the same session's persistent
     * recursive watch there (WatcherModeManager; ZOOKEEPER-4466 changed this
     * in 3.9). The server then fires the one-shot watch once, which the client
     * hands to both watchers, and nothing after. This is what a Curator user
     * gets with a CuratorCache and a TreeCache on one client.
     */
    static void mixedWatchModes() throws Exception {
        CuratorFramework c = client();
        CuratorFramework w = client();
        c.create().forPath("/m", b("0"));
        BlockingQueue<String> rec = new LinkedBlockingQueue<>();
        BlockingQueue<String> data = new LinkedBlockingQueue<>();
        Watcher recW = recordingInto(rec);
        Watcher dataW = recordingInto(data);
        w.watchers().add().withMode(AddWatchMode.PERSISTENT_RECURSIVE).usingWatcher(recW).forPath("/m");
        c.create().forPath("/m/a", b(""));
        out("recursive only: " + poll(rec));
        w.getData().usingWatcher(dataW).forPath("/m");
        c.create().forPath("/m/b", b(""));
        out("after getData watch, create /m/b: recursive " + quiet(rec));
        c.setData().forPath("/m/a", b("x"));
        out("setData /m/a: recursive " + quiet(rec));
        c.setData().forPath("/m", b("1"));
        out("setData /m: data watch " + poll(data) + " | recursive " + poll(rec));
        c.setData().forPath("/m", b("2"));
        out("setData /m again: data watch " + quiet(data) + " | recursive " + quiet(rec));
    }

    static List<String> sortedOf(List<String> l) {
        List<String> copy = new ArrayList<>(l);
        Collections.sort(copy);
        return copy;
    }

    /** CuratorCache (persistent recursive watch) and TreeCache see each change in order. */
    static void cache() throws Exception {
        CuratorFramework c = client();
        // TreeCache on its own session: in 3.8 its standard watch on /cache would
        // replace CuratorCache's recursive one (see mixedWatchModes)
        CuratorFramework c2 = client();
        CuratorFramework writer = client();
        c.create().forPath("/cache", b("root"));
        BlockingQueue<String> cc = new LinkedBlockingQueue<>();
        BlockingQueue<String> tc = new LinkedBlockingQueue<>();
        CuratorCache curatorCache = CuratorCache.build(c, "/cache");
        curatorCache.listenable().addListener(CuratorCacheListener.builder()
                .forAll((type, before, after) -> cc.add(type + " " + cached(before) + " -> " + child(after)))
                .forInitialized(() -> cc.add("initialized"))
                .build());
        TreeCache treeCache = TreeCache.newBuilder(c2, "/cache").build();
        treeCache.getListenable().addListener((cl, ev) -> {
            if (ev.getType() == TreeCacheEvent.Type.INITIALIZED || ev.getType().name().startsWith("NODE_")) {
                tc.add(ev.getType() + " "
                        + (ev.getType() == TreeCacheEvent.Type.NODE_REMOVED ? cached(ev.getData()) : child(ev.getData())));
            }
        });
        curatorCache.start();
        treeCache.start();
        out("CuratorCache " + poll(cc));
        out("CuratorCache " + poll(cc));
        out("TreeCache " + poll(tc));
        out("TreeCache " + poll(tc));
        String[][] steps = {
            {"create", "/cache/a", "1"},
            {"set", "/cache/a", "2"},
            {"create", "/cache/a/b", "x"},
            {"set", "/cache/a/b", "y"},
            {"set", "/cache", "root2"},
            {"delete", "/cache/a/b", ""},
            {"delete", "/cache/a", ""},
        };
        for (String[] step : steps) {
            switch (step[0]) {
                case "create":
                    writer.create().forPath(step[1], b(step[2]));
                    break;
                case "set":
                    writer.setData().forPath(step[1], b(step[2]));
                    break;
                default:
                    writer.delete().forPath(step[1]);
            }
            out(step[0] + " " + step[1] + ": CuratorCache " + poll(cc) + " | TreeCache " + poll(tc));
        }
        out("no more events: CuratorCache " + quiet(cc) + " | TreeCache " + quiet(tc));
        out("CuratorCache size " + curatorCache.size() + " root " + child(curatorCache.get("/cache").orElse(null)));
        out("TreeCache current children " + treeCache.getCurrentChildren("/cache").keySet());
        treeCache.close();
        curatorCache.close();
    }

    /**
     * What a cache held before an event: path and data only. The stat a cache
     * holds for a parent depends on when its background refreshes ran
     * relative to the next change (CuratorCache re-reads children after a
     * parent's cversion moved, TreeCache after NodeChildrenChanged), so it
     * differs between runs on the same server.
     */
    static String cached(ChildData d) {
        return d == null ? "null" : d.getPath() + "=" + s(d.getData());
    }

    /** A node as a cache read it for this event: path, data and stat. */
    static String child(ChildData d) {
        if (d == null) {
            return "null";
        }
        Stat st = d.getStat();
        return d.getPath() + "=" + s(d.getData())
                + (st == null ? "" : " v" + st.getVersion() + " c" + st.getCversion() + " n" + st.getNumChildren());
    }

    /** client.transaction(): one that commits, ones that fail atomically. */
    static void transaction() throws Exception {
        CuratorFramework c = client();
        c.create().forPath("/tx", b("base"));
        List<CuratorOp> ok = Arrays.asList(
                c.transactionOp().create().forPath("/tx/a", b("A")),
                c.transactionOp().create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath("/tx/seq-", b("S")),
                c.transactionOp().create().withMode(CreateMode.EPHEMERAL).forPath("/tx/e", b("E")),
                c.transactionOp().setData().forPath("/tx", b("base2")),
                c.transactionOp().check().withVersion(1).forPath("/tx"),
                c.transactionOp().setData().withVersion(0).forPath("/tx/a", b("A2")),
                c.transactionOp().delete().forPath("/tx/a"));
        for (CuratorTransactionResult r : c.transaction().forOperations(ok)) {
            out("committed " + r.getType() + " " + r.getForPath() + " -> " + r.getResultPath()
                    + " stat " + (r.getResultStat() == null ? "null" : "version=" + r.getResultStat().getVersion())
                    + " error " + r.getError());
        }
        out("after commit children " + sortedChildren(c, "/tx") + " /tx " + stat(c.checkExists().forPath("/tx"), c));
        out("/tx/e " + stat(c.checkExists().forPath("/tx/e"), c));

        Map<String, List<CuratorOp>> failing = new LinkedHashMap<>();
        failing.put("bad version", Arrays.asList(
                c.transactionOp().create().forPath("/tx/b", b("B")),
                c.transactionOp().setData().withVersion(99).forPath("/tx", b("never")),
                c.transactionOp().create().forPath("/tx/c", b("C"))));
        failing.put("check missing node", Arrays.asList(
                c.transactionOp().setData().forPath("/tx", b("never")),
                c.transactionOp().check().forPath("/tx/missing")));
        failing.put("create existing", Arrays.asList(
                c.transactionOp().delete().forPath("/tx/e"),
                c.transactionOp().create().forPath("/tx", b("dup"))));
        failing.put("delete non-empty", Arrays.asList(
                c.transactionOp().delete().forPath("/tx")));
        failing.put("child of ephemeral", Arrays.asList(
                c.transactionOp().create().forPath("/tx/e/kid", b(""))));
        for (Map.Entry<String, List<CuratorOp>> e : failing.entrySet()) {
            try {
                c.transaction().forOperations(e.getValue());
                out(e.getKey() + " -> committed?!");
            } catch (KeeperException ke) {
                List<String> results = new ArrayList<>();
                if (ke.getResults() != null) {
                    for (OpResult r : ke.getResults()) {
                        results.add(r instanceof OpResult.ErrorResult
                                ? "error " + KeeperException.Code.get(((OpResult.ErrorResult) r).getErr())
                                : r.getClass().getSimpleName());
                    }
                }
                out(e.getKey() + " -> " + ke.code() + " path=" + ke.getPath() + " results " + results);
            }
        }
        Stat st = new Stat();
        byte[] data = c.getData().storingStatIn(st).forPath("/tx");
        out("after failures /tx " + s(data) + " " + stat(st, c));
        out("after failures children " + sortedChildren(c, "/tx"));
    }

    /** An ephemeral node disappears when its client closes; watchers hear it. */
    static void ephemeral() throws Exception {
        CuratorFramework c = client();
        CuratorFramework owner = client();
        out("create " + owner.create().creatingParentContainersIfNeeded()
                .withMode(CreateMode.EPHEMERAL).forPath("/eph/node", b("e")));
        out("create " + owner.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath("/eph/seq-", b("")));
        out("stat seen by owner " + stat(owner.checkExists().forPath("/eph/node"), owner));
        out("stat seen by other " + stat(c.checkExists().forPath("/eph/node"), c));
        try {
            owner.create().forPath("/eph/node/child", b(""));
            out("child of ephemeral -> no error");
        } catch (KeeperException e) {
            out("child of ephemeral -> " + e.code());
        }
        out("children " + sortedChildren(c, "/eph"));
        BlockingQueue<String> nodeEv = new LinkedBlockingQueue<>();
        BlockingQueue<String> kidsEv = new LinkedBlockingQueue<>();
        c.checkExists().usingWatcher(recordingInto(nodeEv)).forPath("/eph/node");
        c.getChildren().usingWatcher(recordingInto(kidsEv)).forPath("/eph");
        owner.close();
        out("owner closed: exists watch " + poll(nodeEv) + " | child watch " + poll(kidsEv));
        out("after close " + stat(c.checkExists().forPath("/eph/node"), c) + " children " + childrenOrEmpty(c, "/eph"));
    }
}
