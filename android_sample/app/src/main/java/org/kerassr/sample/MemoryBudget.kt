package org.kerassr.sample

import android.app.ActivityManager
import android.content.Context
import android.os.Build

/** How many bytes one result bitmap may take on this phone, for the core's size check. */
object MemoryBudget {
    /**
     * Two results are made (keras-sr and bicubic), so each gets half of what is free: native memory
     * from Android 8 on (bitmap pixels live there), the Java heap before.
     */
    fun perResultBytes(context: Context): Long {
        val free = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
            val info = ActivityManager.MemoryInfo()
            context.getSystemService(ActivityManager::class.java).getMemoryInfo(info)
            (info.availMem - info.threshold) * 3 / 4
        } else {
            val rt = Runtime.getRuntime()
            (rt.maxMemory() - (rt.totalMemory() - rt.freeMemory())) * 3 / 4
        }
        return maxOf(0L, free / 2)
    }
}
