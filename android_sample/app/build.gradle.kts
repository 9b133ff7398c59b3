plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "org.kerassr.sample"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.kerassr.sample"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "1.0"
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    // model.tflite is opened from the APK as it is (memory-mapped), so it must not be compressed.
    androidResources { noCompress += listOf("tflite") }
}

kotlin {
    compilerOptions { jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_17) }
}

dependencies {
    implementation(project(":core"))
    implementation(libs.litert)
    implementation(libs.litert.gpu) // the GPU accelerator; the app falls back to CPU (XNNPACK) without it
    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.appcompat)
    implementation(libs.androidx.activity.ktx)
    implementation(libs.androidx.lifecycle.runtime.ktx)
    implementation(libs.kotlinx.coroutines.android)
}

// Copies bundles from `keras-sr export --target android` into assets/bundles/x2, x3, x4:
//   ./gradlew :app:copyBundles -Pkerassr.bundles=DIR
// where DIR (absolute, or relative to android_sample/) holds x2/, x3/, x4/, each model.json +
// model.tflite. The copies are git-ignored.
val copyBundles by tasks.registering(Copy::class) {
    description = "Copies keras-sr android bundles (-Pkerassr.bundles=DIR with x2/ x3/ x4/) into assets/bundles."
    val bundlesDir = project.findProperty("kerassr.bundles")?.toString()?.let { rootProject.file(it) }
    doFirst {
        require(bundlesDir != null && bundlesDir.isDirectory) {
            "`kerassr.bundles` must name the folder holding the x2/, x3/, x4/ bundles. Received: " +
                "kerassr.bundles=${bundlesDir ?: "none"} (./gradlew :app:copyBundles -Pkerassr.bundles=DIR)"
        }
    }
    if (bundlesDir != null) {
        from(bundlesDir) { include("x*/model.json", "x*/model.tflite") }
    }
    into(layout.projectDirectory.dir("src/main/assets/bundles"))
}
