// Node --import module: with FAUXQS_RECEIVE_LOG=PATH set, append one line to
// PATH for every message fauxqs hands out, deletes or changes the visibility
// of, so a test can tell how often each message was received (also after it
// was deleted, which fauxqs's own inspection cannot show) and when it was done:
//
//   <epoch seconds, ms> R <queue> <MessageId> <ApproximateReceiveCount>
//   <epoch seconds, ms> D <queue> <MessageId>
//   <epoch seconds, ms> V <queue> <MessageId> <VisibilityTimeout s>
//
// Without the variable it changes nothing. Writes are synchronous (appendFileSync),
// so the log is complete whenever the emulator is stopped.
import fs from "node:fs";
import { SqsQueue } from "./node_modules/fauxqs/dist/sqs/sqsStore.js";

const path = process.env.FAUXQS_RECEIVE_LOG;

function stamp() {
    return (Date.now() / 1000).toFixed(3);
}

if (path) {
    fs.writeFileSync(path, "", { flag: "a" });
    const proto = SqsQueue.prototype;
    const origDequeue = proto.dequeue;
    const origDequeueFifo = proto.dequeueFifo;
    const origDelete = proto.deleteMessage;
    const origVisibility = proto.changeVisibility;

    const logReceived = (queue, out) => {
        if (!Array.isArray(out) || out.length === 0)
            return out;
        const t = stamp();
        let lines = "";
        for (const m of out) {
            const entry = queue.inflightMessages.get(m.ReceiptHandle);
            const count = entry ? entry.message.approximateReceiveCount : 0;
            lines += `${t} R ${queue.name} ${m.MessageId} ${count}\n`;
        }
        fs.appendFileSync(path, lines);
        return out;
    };
    proto.dequeue = function dequeue(...args) {
        // a FIFO queue's dequeue calls dequeueFifo, which logs by itself
        if (this.isFifo())
            return origDequeue.apply(this, args);
        return logReceived(this, origDequeue.apply(this, args));
    };
    proto.dequeueFifo = function dequeueFifo(...args) {
        return logReceived(this, origDequeueFifo.apply(this, args));
    };
    proto.deleteMessage = function deleteMessage(receiptHandle, ...rest) {
        const entry = this.inflightMessages.get(receiptHandle);
        if (entry)
            fs.appendFileSync(path, `${stamp()} D ${this.name} ${entry.message.messageId}\n`);
        return origDelete.call(this, receiptHandle, ...rest);
    };
    proto.changeVisibility = function changeVisibility(receiptHandle, timeoutSeconds, ...rest) {
        const entry = this.inflightMessages.get(receiptHandle);
        if (entry)
            fs.appendFileSync(path, `${stamp()} V ${this.name} ${entry.message.messageId} ${timeoutSeconds}\n`);
        return origVisibility.call(this, receiptHandle, timeoutSeconds, ...rest);
    };
}
