/**
 * chainsync testkit: real qemu tools, no mocks.
 *
 * <ul>
 * <li>{@link io.chainsync.testkit.QemuImg}: qemu-img / qemu-io wrappers (create, io, info, map,
 *     check, compare, convert, rebase, bitmap) and the {@code json:} specs for a layer alone
 *     ({@code backing:null}) or with its chain.</li>
 * <li>{@link io.chainsync.testkit.ChainBuilder}, {@link io.chainsync.testkit.Scenarios}: source
 *     chains from a compact per-cluster pattern language; the scenario families of docs/design.md §4.</li>
 * <li>{@link io.chainsync.testkit.QemuNbdServer}, {@link io.chainsync.testkit.NbdkitServer}: NBD
 *     servers as child processes on unix sockets ({@code AutoCloseable}); {@link io.chainsync.testkit.NbdInfo}
 *     as an independent NBD client.</li>
 * <li>{@link io.chainsync.testkit.ChainJudge} → {@link io.chainsync.testkit.Verdict}: the judgement of
 *     docs/design.md §4; {@link io.chainsync.testkit.NaiveCopier}: deliberately wrong copiers to prove a
 *     test can fail.</li>
 * </ul>
 */
package io.chainsync.testkit;
