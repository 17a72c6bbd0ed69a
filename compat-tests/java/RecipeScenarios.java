// Curator recipes (locks, leader election, counters, barriers, queues),
// run by CuratorScenarios under the same rules (see CuratorScenarios.java).

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.recipes.queue.SimpleDistributedQueue;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.data.Stat;

final class RecipeScenarios extends ScenarioSupport {
    /** InterProcessMutex: reentrant, a second client waits until the first releases. */
    static void mutex() throws Exception {
        CuratorFramework c1 = client();
        CuratorFramework c2 = client();
        InterProcessMutex m1 = new InterProcessMutex(c1, "/locks/m");
        InterProcessMutex m2 = new InterProcessMutex(c2, "/locks/m");
        out("c1 acquire " + m1.acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        out("c1 acquire again (reentrant) " + m1.acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        out("c2 acquire(200ms) " + m2.acquire(200, TimeUnit.MILLISECONDS));
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        Thread t = thread("c2", () -> {
            boolean got = m2.acquire(WAIT_MS, TimeUnit.MILLISECONDS);
            order.add("c2 acquired " + got);
            if (got) {
                order.add("c2 lock nodes " + sortedChildren(c2, "/locks/m"));
                m2.release();
                order.add("c2 released");
            }
        });
        out("two lock nodes " + waitFor(() -> c1.getChildren().forPath("/locks/m").size() == 2));
        out("lock nodes " + sortedChildren(c1, "/locks/m"));
        Thread.sleep(QUIET_MS);
        out("c2 waiting " + order);
        m1.release();
        out("c1 released once, still holds " + m1.isAcquiredInThisProcess());
        Thread.sleep(QUIET_MS);
        out("c2 waiting " + order);
        order.add("c1 releasing");
        m1.release();
        join(t);
        out("order " + order);
        out("lock nodes after " + childrenOrEmpty(c1, "/locks/m"));
    }

    /** InterProcessReadWriteLock: readers share, a writer waits for them. */
    static void rwlock() throws Exception {
        CuratorFramework c1 = client();
        CuratorFramework c2 = client();
        InterProcessReadWriteLock rw1 = new InterProcessReadWriteLock(c1, "/locks/rw");
        InterProcessReadWriteLock rw2 = new InterProcessReadWriteLock(c2, "/locks/rw");
        out("c1 read " + rw1.readLock().acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        out("c2 read " + rw2.readLock().acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        out("lock nodes " + sortedChildren(c1, "/locks/rw"));
        rw2.readLock().release();
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        Thread t = thread("c2-writer", () -> {
            boolean got = rw2.writeLock().acquire(WAIT_MS, TimeUnit.MILLISECONDS);
            order.add("c2 write acquired " + got);
            if (got) {
                rw2.writeLock().release();
            }
        });
        out("writer waiting " + waitFor(() -> c1.getChildren().forPath("/locks/rw").size() == 2));
        out("lock nodes " + sortedChildren(c1, "/locks/rw"));
        out("c1 write while reading (100ms) " + rw1.writeLock().acquire(100, TimeUnit.MILLISECONDS));
        Thread.sleep(QUIET_MS);
        out("c2 waiting " + order);
        order.add("c1 read releasing");
        rw1.readLock().release();
        join(t);
        out("order " + order);
    }

    /** LeaderLatch with two participants: leadership moves when the leader closes. */
    static void leaderLatch() throws Exception {
        CuratorFramework c1 = client();
        CuratorFramework c2 = client();
        LeaderLatch l1 = new LeaderLatch(c1, "/leader", "p1", LeaderLatch.CloseMode.NOTIFY_LEADER);
        LeaderLatch l2 = new LeaderLatch(c2, "/leader", "p2", LeaderLatch.CloseMode.NOTIFY_LEADER);
        BlockingQueue<String> ev1 = new LinkedBlockingQueue<>();
        BlockingQueue<String> ev2 = new LinkedBlockingQueue<>();
        l1.addListener(listener(ev1));
        l2.addListener(listener(ev2));
        l1.start();
        out("p1 await " + l1.await(WAIT_MS, TimeUnit.MILLISECONDS));
        out("p1 listener " + poll(ev1));
        l2.start();
        out("two participants " + waitFor(() -> l1.getParticipants().size() == 2));
        out("participants " + participants(l2.getParticipants()));
        out("latch nodes " + sortedChildren(c1, "/leader"));
        out("leader " + l2.getLeader().getId() + " p1 has " + l1.hasLeadership() + " p2 has " + l2.hasLeadership());
        out("p2 await(200ms) " + l2.await(200, TimeUnit.MILLISECONDS) + " listener " + quiet(ev2));
        l1.close();
        out("p1 closed, listener " + poll(ev1) + ", state " + l1.getState());
        out("p2 await " + l2.await(WAIT_MS, TimeUnit.MILLISECONDS) + " listener " + poll(ev2));
        out("participants " + participants(l2.getParticipants()));
        out("leader " + l2.getLeader().getId());
        l2.close();
        out("p2 closed, listener " + poll(ev2));
    }

    static LeaderLatchListener listener(BlockingQueue<String> q) {
        return new LeaderLatchListener() {
            @Override
            public void isLeader() {
                q.add("isLeader");
            }

            @Override
            public void notLeader() {
                q.add("notLeader");
            }
        };
    }

    static String participants(Collection<Participant> ps) {
        List<String> out = new ArrayList<>();
        for (Participant p : ps) {
            out.add(p.getId() + (p.isLeader() ? "*" : ""));
        }
        return out.toString();
    }

    /** LeaderSelector: the second selector takes leadership when the first gives it up. */
    static void leaderSelector() throws Exception {
        CuratorFramework c1 = client();
        CuratorFramework c2 = client();
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch release1 = new CountDownLatch(1);
        CountDownLatch led1 = new CountDownLatch(1);
        CountDownLatch led2 = new CountDownLatch(1);
        LeaderSelector s1 = new LeaderSelector(c1, "/selector", new LeaderSelectorListenerAdapter() {
            @Override
            public void takeLeadership(CuratorFramework client) throws Exception {
                order.add("s1 leads");
                led1.countDown();
                release1.await(WAIT_MS, TimeUnit.MILLISECONDS);
                order.add("s1 gives up");
            }
        });
        LeaderSelector s2 = new LeaderSelector(c2, "/selector", new LeaderSelectorListenerAdapter() {
            @Override
            public void takeLeadership(CuratorFramework client) {
                order.add("s2 leads");
                led2.countDown();
            }
        });
        s1.setId("s1");
        s2.setId("s2");
        s1.start();
        out("s1 led " + led1.await(WAIT_MS, TimeUnit.MILLISECONDS));
        s2.start();
        out("two participants " + waitFor(() -> s1.getParticipants().size() == 2));
        out("participants " + participants(s2.getParticipants()) + " leader " + s2.getLeader().getId());
        Thread.sleep(QUIET_MS);
        out("so far " + order);
        release1.countDown();
        out("s2 led " + led2.await(WAIT_MS, TimeUnit.MILLISECONDS));
        out("order " + order);
        s1.close();
        s2.close();
    }

    /** SharedCount: a stale versioned set fails; increments from two clients all count. */
    static void sharedCount() throws Exception {
        CuratorFramework c1 = client();
        CuratorFramework c2 = client();
        SharedCount sc1 = new SharedCount(c1, "/counter/shared", 0);
        SharedCount sc2 = new SharedCount(c2, "/counter/shared", 0);
        sc1.start();
        sc2.start();
        out("initial " + sc1.getCount() + " " + sc2.getCount());
        VersionedValue<Integer> stale = sc2.getVersionedValue();
        out("c1 trySet 5 " + sc1.trySetCount(sc1.getVersionedValue(), 5));
        out("c2 stale trySet 7 " + sc2.trySetCount(stale, 7));
        out("c2 sees 5 " + waitFor(() -> sc2.getCount() == 5));
        AtomicInteger retries = new AtomicInteger();
        Thread t1 = thread("inc1", () -> increment(sc1, 10, retries));
        Thread t2 = thread("inc2", () -> increment(sc2, 10, retries));
        join(t1);
        join(t2);
        Stat st = new Stat();
        byte[] data = c1.getData().storingStatIn(st).forPath("/counter/shared");
        out("stored " + ByteBuffer.wrap(data).getInt() + " " + stat(st, c1));
        out("both see 25 " + waitFor(() -> sc1.getCount() == 25 && sc2.getCount() == 25));
        sc1.close();
        sc2.close();
    }

    static void increment(SharedCount sc, int n, AtomicInteger retries) throws Exception {
        for (int i = 0; i < n; i++) {
            int attempts = 0;
            while (true) {
                VersionedValue<Integer> v = sc.getVersionedValue();
                if (sc.trySetCount(v, v.getValue() + 1)) {
                    break;
                }
                retries.incrementAndGet();
                if (++attempts > 500) {
                    throw new IllegalStateException("no increment after 500 attempts");
                }
                Thread.sleep(2);
            }
        }
    }

    /** DistributedAtomicLong: increment, compareAndSet, concurrent increments. */
    static void atomicLong() throws Exception {
        CuratorFramework c1 = client();
        CuratorFramework c2 = client();
        DistributedAtomicLong a1 = new DistributedAtomicLong(c1, "/counter/atomic", new RetryNTimes(200, 2));
        DistributedAtomicLong a2 = new DistributedAtomicLong(c2, "/counter/atomic", new RetryNTimes(200, 2));
        out("get missing " + av(a1.get()));
        out("initialize 7 " + a1.initialize(7L));
        out("initialize again " + a2.initialize(9L));
        out("increment " + av(a2.increment()));
        out("compareAndSet(8, 10) " + av(a1.compareAndSet(8L, 10L)));
        out("compareAndSet(8, 20) " + av(a2.compareAndSet(8L, 20L)));
        out("add 5 " + av(a1.add(5L)));
        out("subtract 3 " + av(a2.subtract(3L)));
        AtomicInteger failed = new AtomicInteger();
        Thread t1 = thread("inc1", () -> {
            for (int i = 0; i < 20; i++) {
                if (!a1.increment().succeeded()) {
                    failed.incrementAndGet();
                }
            }
        });
        Thread t2 = thread("inc2", () -> {
            for (int i = 0; i < 20; i++) {
                if (!a2.increment().succeeded()) {
                    failed.incrementAndGet();
                }
            }
        });
        join(t1);
        join(t2);
        out("concurrent increments failed " + failed.get() + ", value " + av(a1.get()));
    }

    static String av(AtomicValue<Long> v) {
        return (v.succeeded() ? "ok" : "failed") + " pre=" + v.preValue() + " post=" + v.postValue();
    }

    /** DistributedBarrier: a waiter passes only once the barrier is removed. */
    static void barrier() throws Exception {
        CuratorFramework c1 = client();
        CuratorFramework c2 = client();
        DistributedBarrier b1 = new DistributedBarrier(c1, "/barrier");
        DistributedBarrier b2 = new DistributedBarrier(c2, "/barrier");
        out("wait with no barrier " + b2.waitOnBarrier(200, TimeUnit.MILLISECONDS));
        b1.setBarrier();
        out("wait(200ms) while set " + b2.waitOnBarrier(200, TimeUnit.MILLISECONDS));
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        Thread t = thread("waiter", () -> order.add("c2 passed " + b2.waitOnBarrier(WAIT_MS, TimeUnit.MILLISECONDS)));
        Thread.sleep(QUIET_MS);
        out("c2 waiting " + order);
        order.add("c1 removing");
        b1.removeBarrier();
        join(t);
        out("order " + order);
    }

    /** DistributedDoubleBarrier with two members: enter waits for both, so does leave. */
    static void doubleBarrier() throws Exception {
        CuratorFramework c1 = client();
        CuratorFramework c2 = client();
        DistributedDoubleBarrier d1 = new DistributedDoubleBarrier(c1, "/dbarrier", 2);
        DistributedDoubleBarrier d2 = new DistributedDoubleBarrier(c2, "/dbarrier", 2);
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        Thread t = thread("m1", () -> {
            events.add("m1 entered " + d1.enter(WAIT_MS, TimeUnit.MILLISECONDS));
            events.add("m1 left " + d1.leave(WAIT_MS, TimeUnit.MILLISECONDS));
        });
        Thread.sleep(QUIET_MS);
        out("m1 alone " + events);
        out("m2 enter " + d2.enter(WAIT_MS, TimeUnit.MILLISECONDS));
        out("m2 leave " + d2.leave(WAIT_MS, TimeUnit.MILLISECONDS));
        join(t);
        out("m1 " + events);
    }

    /** SimpleDistributedQueue: FIFO across clients, bounded poll, blocking take. */
    static void simpleQueue() throws Exception {
        CuratorFramework c1 = client();
        CuratorFramework c2 = client();
        SimpleDistributedQueue q1 = new SimpleDistributedQueue(c1, "/squeue");
        SimpleDistributedQueue q2 = new SimpleDistributedQueue(c2, "/squeue");
        out("poll empty " + s(q2.poll()));
        for (String item : new String[] {"a", "b", "c"}) {
            out("offer " + item + " " + q1.offer(b(item)));
        }
        out("items " + sortedChildren(c1, "/squeue"));
        out("peek " + s(q2.peek()));
        for (int i = 0; i < 3; i++) {
            out("poll " + s(q2.poll(WAIT_MS, TimeUnit.MILLISECONDS)));
        }
        out("poll(200ms) " + s(q2.poll(200, TimeUnit.MILLISECONDS)));
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        Thread t = thread("taker", () -> order.add("took " + s(q2.take())));
        Thread.sleep(QUIET_MS);
        out("taker waiting " + order);
        order.add("offer d");
        q1.offer(b("d"));
        join(t);
        out("order " + order);
    }

    /** DistributedQueue: a producer on one client, a consumer on another, in order. */
    static void distributedQueue() throws Exception {
        CuratorFramework c1 = client();
        CuratorFramework c2 = client();
        StringQueue ser = new StringQueue();
        BlockingQueue<String> consumed = ser.consumed;
        QueueConsumer<String> consumer = ser;
        DistributedQueue<String> producer = QueueBuilder.builder(c1, null, ser, "/dqueue")
                .putInBackground(false).buildQueue();
        producer.start();
        for (String item : new String[] {"x", "y", "z"}) {
            producer.put(item);
        }
        out("items " + sortedChildren(c1, "/dqueue"));
        DistributedQueue<String> queue = QueueBuilder.builder(c2, consumer, ser, "/dqueue")
                .putInBackground(false).buildQueue();
        queue.start();
        List<String> got = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            got.add(poll(consumed));
        }
        out("consumed " + got);
        producer.put("w");
        out("consumed " + poll(consumed));
        out("nothing more " + quiet(consumed));
        out("items left " + waitFor(() -> childrenOrEmpty(c1, "/dqueue").isEmpty()));
        producer.close();
        queue.close();
    }

    /** Serializer and consumer of a DistributedQueue of strings. */
    static final class StringQueue implements QueueSerializer<String>, QueueConsumer<String> {
        final BlockingQueue<String> consumed = new LinkedBlockingQueue<>();

        @Override
        public byte[] serialize(String item) {
            return b(item);
        }

        @Override
        public String deserialize(byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
        }

        @Override
        public void consumeMessage(String message) {
            consumed.add(message);
        }

        @Override
        public void stateChanged(CuratorFramework client, ConnectionState newState) {
        }
    }
}
